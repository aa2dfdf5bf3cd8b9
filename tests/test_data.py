import json

import numpy as np
import pandas as pd
import pytest

from kdsuite.data.datasets import DATASETS, load_dataset
from kdsuite.errors import KdsuiteError
from tests.conftest import run_cli, write_toy


@pytest.mark.parametrize("name", list(DATASETS))
def test_offline_mirror_matches_info_json(data_dir, name):
    info = json.loads((data_dir / name / "info.json").read_text())
    ds = load_dataset(name, data_dir)
    assert ds.label_names == info["label_names"] == list(DATASETS[name].label_names)
    assert ds.source == str((data_dir / name).resolve())
    for split, meta in info["splits"].items():
        rows = meta["rows"]
        if split == "train" and "validation" not in info["splits"]:  # validation carved from train
            assert len(ds.splits["train"]) + len(ds.splits["validation"]) == rows
            assert ds.recipe["validation"].startswith("carved from train: 0.1, stratified")
        else:
            assert len(ds.splits[split]) == rows
            counts = {f"{k} ({ds.label_names[k]})" if k >= 0 else "-1 (unlabeled)": v
                      for k, v in zip(*np.unique(ds.splits[split].labels, return_counts=True))}
            assert counts == meta["per_label"]


def test_amazon_text_is_title_dot_content(data_dir):
    raw = pd.read_parquet(data_dir / "amazon_polarity" / "test.parquet")
    ds = load_dataset("amazon_polarity", data_dir)
    assert ds.splits["test"].texts[0] == raw.text[0] == f"{raw.title[0]}. {raw.content[0]}"


def test_fingerprint_is_content_hash(tmp_path):
    a = load_dataset(str(write_toy(tmp_path / "a")))
    b = load_dataset(str(write_toy(tmp_path / "b")))
    assert a.fingerprint == b.fingerprint  # same content, other folder
    df = pd.read_csv(tmp_path / "b" / "test.csv")
    df.loc[0, "text"] += " x"
    df.to_csv(tmp_path / "b" / "test.csv", index=False)
    assert load_dataset(str(tmp_path / "b")).fingerprint != a.fingerprint


def test_subsampling_is_stratified_and_seeded(data_dir):
    full = load_dataset("emotion", data_dir)
    a = load_dataset("emotion", data_dir, train_fraction=0.1, seed=3)
    b = load_dataset("emotion", data_dir, train_fraction=0.1, seed=3)
    c = load_dataset("emotion", data_dir, max_train=1000, seed=4)
    assert len(a.splits["train"]) == 1600 and len(c.splits["train"]) == 1000
    assert np.array_equal(a.train_index, b.train_index)
    assert not np.array_equal(a.splits["train"].texts[:50], c.splits["train"].texts[:50])
    np.testing.assert_allclose(np.bincount(a.splits["train"].labels) / 1600,
                               np.bincount(full.splits["train"].labels) / 16000, atol=0.002)
    assert np.array_equal(full.splits["train"].texts[a.train_index], a.splits["train"].texts)
    assert a.base_fingerprint == full.base_fingerprint != a.view_fingerprint
    assert a.recipe["train_fraction"] == 0.1 and len(a.splits["test"]) == 2000


def test_user_formats(tmp_path):
    toy = load_dataset(str(write_toy(tmp_path / "toy")))
    assert toy.label_names == ["apple", "river", "stone"] and toy.recipe["validation"] == "official"
    # one JSONL file with string labels: names inferred, validation and test carved
    rows = [{"text": f"text {i} {'good' if i % 2 else 'bad'}", "label": "pos" if i % 2 else "neg"}
            for i in range(100)]
    path = tmp_path / "reviews.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    ds = load_dataset(str(path))
    assert ds.label_names == ["neg", "pos"]
    assert (len(ds.splits["train"]), len(ds.splits["validation"]), len(ds.splits["test"])) == (81, 9, 10)
    assert "carved" in ds.recipe["test"]
    # parquet folder with an unlabelled split
    folder = tmp_path / "pq"
    folder.mkdir()
    pd.DataFrame({"text": ["a b", "c d"] * 10, "label": [0, 1] * 10}).to_parquet(folder / "train.parquet")
    pd.DataFrame({"text": ["e f"] * 4, "label": [1, 0, 1, 0]}).to_parquet(folder / "test.parquet")
    pd.DataFrame({"text": ["g h"] * 3, "label": [-1] * 3}).to_parquet(folder / "unsup.parquet")
    ds = load_dataset(str(folder))
    assert ds.label_names == ["0", "1"] and len(ds.splits["unsup"]) == 3


def _bad(tmp_path, name, frame=None, raw: bytes | None = None, suffix=".csv"):
    folder = tmp_path / name
    folder.mkdir()
    good = pd.DataFrame({"text": ["fine text", "more text"] * 5, "label": [0, 1] * 5})
    good.to_csv(folder / "test.csv", index=False)
    path = folder / f"train{suffix}"
    if raw is not None:
        path.write_bytes(raw)
    else:
        frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    return folder, path


BAD = {
    "missing_column": (pd.DataFrame({"sentence": ["a"] * 4, "label": [0, 1] * 2}), "missing column 'text'"),
    "no_label": (pd.DataFrame({"text": ["a"] * 4}), "missing column 'label'"),
    "float_label": (pd.DataFrame({"text": ["a"] * 4, "label": [0, 1.5, 1, 0]}), "field 'label' is not an integer in row 1"),
    "nan_label": (pd.DataFrame({"text": ["a"] * 4, "label": [0, None, 1, 0]}), "field 'label' is not an integer in row 1"),
    "negative_label": (pd.DataFrame({"text": ["a"] * 4, "label": [0, 1, -1, 0]}), "field 'label' out of range in row 2"),
    "nan_text": (pd.DataFrame({"text": ["a", None, "b", "c"], "label": [0, 1, 1, 0]}), "field 'text' is missing (null/NaN) in row 1"),
    "empty_text": (pd.DataFrame({"text": ["a", "b", "   ", "c"], "label": [0, 1, 1, 0]}), "field 'text' is empty in row 2"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_line_error(tmp_path, case):
    frame, message = BAD[case]
    folder, path = _bad(tmp_path, case, frame, suffix=".parquet" if case == "nan_text" else ".csv")
    with pytest.raises(KdsuiteError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        load_dataset(str(folder))
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_out_of_range_label_against_info_json(tmp_path):
    folder, path = _bad(tmp_path, "range", pd.DataFrame({"text": ["a"] * 4, "label": [0, 1, 2, 0]}))
    (folder / "info.json").write_text(json.dumps({"label_names": ["neg", "pos"]}))
    with pytest.raises(KdsuiteError, match=r"out of range in row 2 \(2; allowed 0..1\)"):
        load_dataset(str(folder))


def test_non_utf8_and_missing_split(tmp_path, data_dir):
    folder, path = _bad(tmp_path, "latin", raw="text,label\ncaf\xe9,0\nok,1\n".encode("latin-1"))
    with pytest.raises(KdsuiteError, match="not UTF-8"):
        load_dataset(str(folder))
    mirror = tmp_path / "mirror" / "emotion"
    mirror.mkdir(parents=True)
    (mirror / "train.parquet").symlink_to(data_dir / "emotion" / "train.parquet")
    with pytest.raises(KdsuiteError, match=r"test.parquet: split 'test' not found"):
        load_dataset("emotion", tmp_path / "mirror")
    with pytest.raises(KdsuiteError, match="imdb: dataset folder not found"):
        load_dataset("imdb", tmp_path / "mirror")
    with pytest.raises(KdsuiteError, match="does not exist"):
        load_dataset("emotion", tmp_path / "nowhere")


def test_cli_bad_input_exits_nonzero_with_one_line(tmp_path):
    folder, path = _bad(tmp_path, "cli", pd.DataFrame({"text": ["a"] * 4, "label": [0, "x", 1, 0]}))
    proc = run_cli("datasets", str(folder))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and str(path) in proc.stderr
    assert "field 'label' mixes integers and names (row 1: 'x')" in proc.stderr
    proc = run_cli("datasets", "no-such-dataset")
    assert proc.returncode == 2 and "emotion, imdb, amazon_polarity" in proc.stderr


def test_cli_datasets_json(data_dir):
    proc = run_cli("datasets", "imdb", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["imdb"]
    assert out["splits"]["unsup"]["labels"] == {"unlabelled": 50000}
    assert out["splits"]["test"]["rows"] == 25000 and len(out["fingerprint"]) == 16
