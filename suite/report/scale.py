"""The data-at-scale benchmark (`kdsuite bench --scale`): time and peak memory of one student cell (load, clean
nothing, tokenise, one epoch of `mlp`, predict) on the Amazon sample resampled with replacement to growing row
counts (test split unchanged), each in a fresh process, so the numbers show how the data path grows with rows.

The resampled datasets are plain parquet folders (`text`, `label`) built once per size under the cache, written
in row groups so nothing holds them whole.

`kdsuite bench --scale --transfer-rows N` (below): one epoch of KD from the committed NBSVM logits with an N-row
transfer set, the suite's fit against a bare `model.fit` on the same arrays, seconds and peak memory of each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.errors import KdsuiteError
from kdsuite.report.bench import published

SIZES = (250_000, 500_000, 1_000_000, 2_000_000)
SOURCE = "amazon_polarity"
ROW_GROUP = 50_000


def resampled(rows: int, source: Path, seed: int = 0) -> Path:
    """`SOURCE`'s train rows drawn with replacement to `rows` rows, and its test split as is: a parquet folder
    under the cache, built once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stat = (source / "train.parquet").stat() if (source / "train.parquet").is_file() else None
    version = store.key(source=str(source.resolve()), size=stat and stat.st_size, mtime=stat and stat.st_mtime_ns)
    folder = store.cache_root() / "scale" / f"{SOURCE}_{rows}_s{seed}-{version}"
    if (folder / "train.parquet").is_file():
        return folder
    if stat is None:
        raise KdsuiteError(f"{source}: no train.parquet to resample (point --data-dir at the mirror)")
    train = pq.read_table(source / "train.parquet", columns=["text", "label"])
    pick = np.random.default_rng(seed).integers(0, len(train), rows)
    with store.locked(folder / "train.parquet"):
        if not (folder / "train.parquet").is_file():
            with store.atomic_path(folder / "test.parquet") as tmp:
                pq.write_table(pq.read_table(source / "test.parquet", columns=["text", "label"]), tmp)
            with store.atomic_path(folder / "train.parquet") as tmp, pq.ParquetWriter(tmp, train.schema) as w:
                for start in range(0, rows, ROW_GROUP):
                    w.write_table(train.take(pa.array(pick[start:start + ROW_GROUP])), row_group_size=ROW_GROUP)
    return folder


def measure(folder: Path, student: str, seq_len: int, backend: str = "tensorflow") -> dict:
    """Wall time and peak memory (max RSS) of `kdsuite distill FOLDER --student S --no-kd --epochs 1` in a fresh
    process with an empty cache (so it reads, validates and tokenises everything); the record it writes gives the
    seconds of the fit itself."""
    cmd = [sys.executable, "-m", "kdsuite.cli", "distill", str(folder), "--student", student, "--no-kd",
           "--epochs", "1", "--seq-len", str(seq_len), "--backend", backend, "--json"]
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile("w+") as stdout, \
            tempfile.TemporaryFile("w+") as stderr:
        env = os.environ | {"KDSUITE_CACHE": str(Path(tmp) / "cache")}
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd + ["--out", str(Path(tmp) / "store")], stdout=stdout, stderr=stderr, text=True,
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS, not the largest child's so far
        wall = time.perf_counter() - t0
        stdout.seek(0), stderr.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            last = (stderr.read().strip().splitlines() or ["?"])[-1]
            raise KdsuiteError(f"scale bench on {folder.name} failed: {last}")
        record = json.loads(stdout.read())
    return {"wall_s": round(wall, 1), "fit_s": record["times_s"]["train"],
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "test_accuracy": record["test"]["accuracy"], "train_rows": record["train_rows"]}


def run_scale(sizes: list[int], student: str = "mlp", seq_len: int = 128, backend: str = "tensorflow",
              data_dir: str | None = None, out: str | None = None, command: str = "") -> dict:
    """One row per size (rows drawn from the Amazon sample), each measured in a fresh process, with its time and
    peak memory relative to the first size's; with `out`, `bench_scale.json` and `.md` there."""
    from kdsuite.data.datasets import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    if root is None:
        raise KdsuiteError(f"--scale resamples the local {SOURCE} sample: set --data-dir or KDSUITE_DATA_DIR")
    rows = []
    for size in sizes:
        rows.append({"rows": size} | measure(resampled(size, root / SOURCE), student, seq_len, backend))
    for row in rows:
        row["time_vs_first"] = round(row["wall_s"] / rows[0]["wall_s"], 2)
        row["memory_vs_first"] = round(row["peak_rss_mb"] / rows[0]["peak_rss_mb"], 2)
    result = {"source": SOURCE, "student": student, "seq_len": seq_len, "backend": backend, "epochs": 1}
    return published(result, rows, command, out, "bench_scale", scale_markdown)


def scale_markdown(result: dict) -> str:
    from kdsuite.report.bench import markdown_table

    cols = ("rows", "train_rows", "wall_s", "fit_s", "peak_rss_mb", "time_vs_first", "memory_vs_first",
            "test_accuracy")
    return "\n".join([
        f"# Data at scale: {result['source']} resampled with replacement (test split as is)", "",
        f"`kdsuite distill DIR --student {result['student']} --no-kd --epochs {result['epochs']} --seq-len "
        f"{result['seq_len']}` on {result['backend']}, each size in a fresh process with an empty cache: load, "
        f"validate and fingerprint, tokenise every split, one epoch, predict every split. wall_s: the whole "
        f"process; fit_s: the epoch; peak_rss_mb: the process's maximum resident memory.", "",
        f"Hardware: {json.dumps(result['hardware'])}. Commit {result['commit']}: `{result['command']}`", "",
        *markdown_table(result["rows"], cols)]) + "\n"


# --- KD with a large transfer set (`kdsuite bench --scale --transfer-rows N`) ---------------------------------
#
# The dataset: Amazon's train split as is (validation carved from it exactly as for the registered dataset, so the
# committed NBSVM logits align row for row), its test split, and an `unsup` split of N texts drawn with replacement
# from the carved train rows, each carrying its source row's committed teacher logits: a real teacher, no fake one.
# Each drawn text gets a short suffix of punctuation the students' standardisation strips (same ids as its
# source), so the drawn copies are distinct texts: a real transfer set is, and `kdsuite distill`'s transfer set
# keeps each distinct text once.

TEACHER = "nbsvm"
LOGITS = f"{TEACHER}_logits.npz"  # in the folder: not a split file (`.npz`), one array per split
TAG_CHARS = "#$%&()*+,-./:;<="  # 16 marks `lower_and_strip_punctuation` strips ('!' and '?' are NBSVM tokens)


def tag(i: int, width: int) -> str:
    """Row `i` written in base 16 with `TAG_CHARS` as digits, `width` digits: a suffix no student sees."""
    return "".join(TAG_CHARS[(i >> (4 * k)) & 15] for k in range(width))


def transfer_folder(rows: int, root: Path, seed: int = 0) -> Path:
    """A parquet folder under the cache (built once): `train` and `test` as in `root/amazon_polarity`, `unsup`
    (`rows` tagged texts drawn with replacement from the carved train rows, label -1) and `LOGITS` (the committed
    teacher logits of train, validation and test, and of each unsup row's source row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.logit_store import array_hash, read_logits

    source = root / SOURCE
    src = load_dataset(SOURCE, root)  # validation carved (0.1, seed 0) as the committed logits' rows were
    logits = read_logits(TEACHER, src)
    version = store.key(data=src.fingerprint, logits=array_hash(logits), tags=TAG_CHARS)
    folder = store.cache_root() / "scale" / f"{SOURCE}_transfer_{rows}_s{seed}-{version}"
    if (folder / "unsup.parquet").is_file():
        return folder
    pick = np.random.default_rng(seed).integers(0, len(src.splits["train"]), rows)
    texts = src.splits["train"].texts
    width = 1
    while 16 ** width < rows:
        width += 1
    with store.locked(folder / "unsup.parquet"):
        if not (folder / "unsup.parquet").is_file():
            for split in ("train", "test"):
                with store.atomic_path(folder / f"{split}.parquet") as tmp:
                    pq.write_table(pq.read_table(source / f"{split}.parquet", columns=["text", "label"]), tmp)
            store.write_json(folder / "info.json", {"label_names": list(src.label_names)})
            with store.atomic_path(folder / LOGITS) as tmp, open(tmp, "wb") as f:
                np.savez(f, **{k: logits[k] for k in ("train", "validation", "test")},
                         unsup=logits["train"][pick])
            schema = pa.schema([("text", pa.string()), ("label", pa.int64())])
            with store.atomic_path(folder / "unsup.parquet") as tmp, pq.ParquetWriter(tmp, schema) as w:
                for start in range(0, rows, ROW_GROUP):
                    chunk = pick[start:start + ROW_GROUP]
                    w.write_table(pa.table({"text": [f"{texts[j]} {tag(start + i, width)}" for i, j in
                                                     enumerate(chunk.tolist())],
                                            "label": np.full(len(chunk), -1, np.int64)}, schema=schema),
                                  row_group_size=ROW_GROUP)
    return folder


def _vm_hwm_mb(pid: int | str = "self") -> float | None:
    """The process's peak resident memory so far (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _reset_peak(pid: int | str = "self") -> bool:
    """Restart the process's peak-RSS count at its current RSS (Linux: `5` to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _child(cmd: list[str], env: dict, fit_marker: str | None = None) -> dict:
    """Run `cmd` (its stdout: JSON) to its end; its wall seconds and peak RSS. With `fit_marker` (a glob that
    matches once the fit has begun: Keras' TensorBoard callback makes its `train` folder in on_train_begin), the
    peak is also counted again from that moment (`fit_peak_rss_mb`: the fit and whatever follows it)."""
    import glob

    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True, env=env)
        before, done = None, 0
        while not done:  # wait4 with WNOHANG reaps the child only once it has ended, with its rusage
            done, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if not done and fit_marker and before is None and glob.glob(fit_marker):
                before = _vm_hwm_mb(proc.pid)
                if not _reset_peak(proc.pid):
                    before, fit_marker = None, None
            if not done:
                time.sleep(0.1)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0), stderr.seek(0)
        if proc.returncode != 0:
            last = (stderr.read().strip().splitlines() or ["?"])[-1]
            raise KdsuiteError(f"transfer bench: {' '.join(cmd[2:5])} failed: {last}")
        out = json.loads(stdout.read())
    peak = round(usage.ru_maxrss / 1024, 1)  # since the reset, where there was one
    if before is not None:
        out["fit_peak_rss_mb"] = peak
    earlier = max(before or 0, out.pop("pre_fit_peak_rss_mb", None) or 0)  # the peak before a reset
    out["peak_rss_mb"] = max(peak, earlier, out.get("fit_peak_rss_mb") or 0)
    return out | {"wall_s": round(wall, 1)}


def _fit_inputs(folder: Path):
    """The dataset at `folder` (validation carved, as every cell carves it), its teacher logits (checked against
    it) and the fit's options: `kdsuite distill`'s defaults, one epoch."""
    from kdsuite.config import TrainConfig
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.logit_store import load_logits_file

    ds = load_dataset(str(folder))
    return ds, load_logits_file(folder / LOGITS, ds), TrainConfig(epochs=1)


def suite_fit(folder: Path, student: str, seq_len: int, run_dir: Path) -> dict:
    """The suite's fit (`engine.fit.train_student`, which `kdsuite distill --teacher T --transfer unsup` runs):
    the unsup texts are the transfer set, streamed from their file (a `TextColumn`) with their teacher logits."""
    from kdsuite.engine.fit import train_student
    from kdsuite.teachers.transfer import TransferSet

    ds, logits, cfg = _fit_inputs(folder)
    transfer = TransferSet(ds.splits["unsup"].column, logits["unsup"])
    result = train_student(ds, student, cfg, seq_len, 0, {k: logits[k] for k in ("train", "validation", "test")},
                           run_dir, {"model": student, "kind": "kd+transfer", "teacher": TEACHER}, verbose=0,
                           transfer=transfer)
    return {"fit_s": result["times_s"]["train"], "train_rows": len(ds.splits["train"]),
            "transfer_rows": result["transfer_rows"], "val_accuracy": result["val_accuracy"],
            "test_accuracy": result["test"]["accuracy"]}


def bare_fit(folder: Path, student: str, seq_len: int, tokens: Path) -> dict:
    """A bare `model.fit` of the same student on the same ids, read whole into memory (train and transfer rows
    concatenated) from the suite fit's token cache `tokens`: the suite's KD loss (`Distiller`, same compile:
    Adam, steps_per_execution), the same targets, batch size, seed, shuffling and validation data; no callbacks,
    no streaming. Its peak memory is counted again from the fit's start (the arrays are resident by then)."""
    import keras

    from kdsuite.backend import seed_everything
    from kdsuite.engine.loss import Distiller
    from kdsuite.students import build_student

    ds, logits, cfg = _fit_inputs(folder)
    x = np.concatenate([np.load(tokens / "train.npy"), np.load(tokens / "transfer.npy")])
    y = {"label": np.concatenate([ds.splits["train"].labels, np.full(len(logits["unsup"]), -1)]).astype("int32"),
         "teacher": np.concatenate([logits["train"], logits["unsup"]]).astype("float32")}
    val = (np.load(tokens / "validation.npy"), {"label": ds.splits["validation"].labels.astype("int32"),
                                               "teacher": logits["validation"].astype("float32")})
    seed_everything(0)
    model = Distiller(build_student(student, cfg.vocab_size, seq_len, ds.num_classes)[0], cfg.loss, cfg.temperature,
                      cfg.alpha)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate),
                  steps_per_execution=1 if keras.backend.backend() == "torch" else 32)
    before = _vm_hwm_mb()  # reading the ids and concatenating them: the process's peak, not the fit's
    reset = _reset_peak()
    t = time.perf_counter()
    history = model.fit(x, y, batch_size=cfg.batch_size, epochs=1, shuffle=True, validation_data=val, verbose=0)
    fit_s = time.perf_counter() - t
    return {"fit_s": round(fit_s, 2), "fit_rows": len(x), "val_accuracy": float(history.history["val_accuracy"][-1]),
            **({"fit_peak_rss_mb": _vm_hwm_mb(), "pre_fit_peak_rss_mb": before} if reset else {})}


def measure_transfer(rows: int, root: Path, student: str, seq_len: int, backend: str, via_distill: bool,
                     repeats: int = 1) -> dict:
    """The suite's KD fit with a `rows`-row transfer set and a bare `model.fit` on the same arrays, each in a fresh
    process with an empty cache (the bare one reads the suite's token files): seconds, rows/s and peak memory.
    The bare child restarts its own peak count at its fit's start (and says what it was before); the suite's is
    restarted from here once its fit has begun (`_child`). Fits on a shared host vary by a factor of two either
    way, so `repeats` pairs are run and the fastest of each side compared (peaks: the largest)."""
    folder = transfer_folder(rows, root)
    load = [round(os.getloadavg()[0], 1)]  # the host's 1-minute load at the start and the end: others' work too
    me = [sys.executable, "-m", "kdsuite.report.scale"]
    pairs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            env = os.environ | {"KDSUITE_CACHE": str(tmp / "cache"), "KERAS_BACKEND": backend}
            if via_distill:
                suite = _distill(folder, student, seq_len, backend, tmp, env)
            else:
                suite = _child(me + ["suite", str(folder), student, str(seq_len), str(tmp / "run")], env,
                               str(tmp / "run" / "tensorboard" / "train"))
            tokens = [p.parent for p in (tmp / "cache" / "tokens").glob(f"{folder.name}-*/transfer.npy")]
            if len(tokens) != 1:
                raise KdsuiteError(f"transfer bench: expected one token folder with transfer rows, found {len(tokens)}")
            bare = _child(me + ["bare", str(folder), student, str(seq_len), str(tokens[0])], env)
        if suite["train_rows"] + suite["transfer_rows"] != bare["fit_rows"]:
            raise KdsuiteError(f"transfer bench: the suite fit {suite['train_rows'] + suite['transfer_rows']} rows, "
                               f"the bare fit {bare['fit_rows']}")
        pairs.append((suite, bare))
    suite, bare = (min((p[i] for p in pairs), key=lambda r: r["fit_s"]) for i in (0, 1))
    fit_rows = bare["fit_rows"]

    def peak(side: int, key: str) -> float | None:
        values = [p[side].get(key) for p in pairs]
        return None if None in values else max(values)

    return {"transfer_rows": rows, "train_rows": suite["train_rows"], "fit_rows": fit_rows,
            "suite_fit_s": suite["fit_s"], "bare_fit_s": bare["fit_s"],
            "fit_time_ratio": round(suite["fit_s"] / bare["fit_s"], 2),
            "suite_rows_per_s": round(fit_rows / suite["fit_s"], 1),
            "bare_rows_per_s": round(fit_rows / bare["fit_s"], 1),
            "suite_fit_peak_rss_mb": peak(0, "fit_peak_rss_mb"), "bare_fit_peak_rss_mb": peak(1, "fit_peak_rss_mb"),
            "suite_peak_rss_mb": peak(0, "peak_rss_mb"), "bare_peak_rss_mb": peak(1, "peak_rss_mb"),
            "suite_wall_s": suite["wall_s"], "bare_wall_s": bare["wall_s"],
            "suite_val_accuracy": round(suite["val_accuracy"], 4), "bare_val_accuracy": round(bare["val_accuracy"], 4),
            "suite_test_accuracy": round(suite["test_accuracy"], 4),
            **({"transfer_duplicates": suite["transfer_duplicates"]} if "transfer_duplicates" in suite else {}),
            "repeats": repeats, "suite_fit_s_all": [p[0]["fit_s"] for p in pairs],
            "bare_fit_s_all": [p[1]["fit_s"] for p in pairs], "load_average": load + [round(os.getloadavg()[0], 1)]}


def _distill(folder: Path, student: str, seq_len: int, backend: str, tmp: Path, env: dict) -> dict:
    """The suite side through the CLI: `kdsuite distill FOLDER --teacher nbsvm --transfer unsup --epochs 1`, the
    folder's logits stored as that teacher's in the (empty) cache, as `kdsuite teacher` stores them."""
    from kdsuite.data.datasets import load_dataset
    from kdsuite.teachers.logit_store import read_npz, save_cache, teacher_id

    ds = load_dataset(str(folder))  # its base fingerprint keys the teacher's cache entry
    save_cache(tmp / "cache" / "logits" / teacher_id(TEACHER) / f"{ds.name}-bench", read_npz(folder / LOGITS),
               {"teacher": TEACHER, "dataset": ds.name, "base_fingerprint": ds.base_fingerprint,
                "label_names": list(ds.label_names)})
    cmd = [sys.executable, "-m", "kdsuite.cli", "distill", str(folder), "--student", student, "--teacher", TEACHER,
           "--transfer", "unsup", "--epochs", "1", "--seq-len", str(seq_len), "--backend", backend, "--json",
           "--out", str(tmp / "store")]
    record = _child(cmd, env, str(tmp / "store" / "models" / "*" / "tensorboard" / "train"))
    return {k: record[k] for k in ("wall_s", "peak_rss_mb", "fit_peak_rss_mb", "train_rows", "transfer_rows",
                                   "val_accuracy") if k in record} | {
        "fit_s": record["times_s"]["train"], "test_accuracy": record["test"]["accuracy"],
        "transfer_duplicates": record["transfer_duplicates"]}


def run_transfer(sizes: list[int], student: str = "mlp", seq_len: int = 128, backend: str = "tensorflow",
                 data_dir: str | None = None, out: str | None = None, command: str = "",
                 via_distill: bool = False, repeats: int = 1) -> dict:
    """One row per transfer-set size: the suite's KD fit against a bare `model.fit`; with `out`,
    `bench_transfer.json` and `.md` there."""
    from kdsuite.data.datasets import data_dir as resolve_data_dir

    root = resolve_data_dir(data_dir)
    if root is None:
        raise KdsuiteError(f"--transfer-rows resamples the local {SOURCE} sample: set --data-dir or KDSUITE_DATA_DIR")
    if repeats < 1:
        raise KdsuiteError(f"--repeats must be positive, got {repeats}")
    rows = [measure_transfer(n, root, student, seq_len, backend, via_distill, repeats) for n in sizes]
    result = {"transfer_source": SOURCE, "teacher": TEACHER, "student": student, "seq_len": seq_len,
              "backend": backend, "epochs": 1, "loss": "kl",
              "suite_path": "kdsuite distill" if via_distill else "engine.fit.train_student"}
    return published(result, rows, command, out, "bench_transfer", transfer_markdown)


def transfer_markdown(result: dict) -> str:
    from kdsuite.report.bench import markdown_table

    cols = ("transfer_rows", "fit_rows", "suite_fit_s", "bare_fit_s", "fit_time_ratio", "suite_rows_per_s",
            "bare_rows_per_s", "suite_fit_peak_rss_mb", "bare_fit_peak_rss_mb", "suite_peak_rss_mb",
            "bare_peak_rss_mb", "suite_val_accuracy", "bare_val_accuracy", "suite_fit_s_all", "bare_fit_s_all",
            "load_average")
    suite = (f"`kdsuite distill DIR --student {result['student']} --teacher {result['teacher']} --transfer unsup "
             f"--epochs 1 --seq-len {result['seq_len']}`" if result["suite_path"] == "kdsuite distill" else
             f"`engine.fit.train_student` (what `kdsuite distill DIR --teacher {result['teacher']} --transfer unsup "
             f"--epochs 1 --seq-len {result['seq_len']}` runs), the transfer texts streamed from their file")
    return "\n".join([
        f"# KD with a large transfer set: {result['transfer_source']}, {result['teacher']} teacher, "
        f"{result['student']} student", "",
        f"Training rows: {result['transfer_source']}'s train split (validation carved from it as usual). Transfer "
        f"rows: that many texts drawn with replacement from the training rows (each made a distinct text by a "
        f"punctuation suffix the students' standardisation strips), each with its source row's committed "
        f"{result['teacher']} logits. One epoch of the {result['loss']} loss, {result['backend']}, each fit in a "
        f"fresh process with an empty cache.", "",
        f"- suite: {suite}; its ids memory-mapped and read in batches (pread) through tf.data, with early stopping, "
        f"TensorBoard and the non-finite-loss guard.",
        "- bare: `model.fit(x, y)` of the same student wrapped in the suite's `Distiller` (same loss, compile, "
        "seed, batch size, shuffling, validation data) on the same ids read whole into memory, train and transfer "
        "rows concatenated; no callbacks (its seconds include Keras building its dataset from the arrays).",
        "- fit_s: seconds of `model.fit`, the fastest of `repeats` pairs run in turn (*_fit_s_all: every one); "
        "fit_time_ratio: suite / bare (the goal: at most 1.3); rows/s: fit rows per second. *_fit_peak_rss_mb: "
        "the process's peak resident memory counted again from the fit's start "
        "(the bare fit's arrays are resident by then; the suite's count starts when its TensorBoard callback opens "
        "and runs to the process's end, predictions included); *_peak_rss_mb: the whole process's. load_average: the "
        "host's 1-minute load before and after (other work shares its cores; the seconds are wall seconds).", "",
        f"Hardware: {json.dumps(result['hardware'])}. Commit {result['commit']}: `{result['command']}`", "",
        *markdown_table(result["rows"], cols)]) + "\n"


if __name__ == "__main__":  # python -m kdsuite.report.scale suite|bare FOLDER STUDENT SEQ_LEN PATH: one JSON object
    from kdsuite.backend import use_backend

    use_backend(os.environ.get("KERAS_BACKEND") or "tensorflow")
    mode, folder_, student_, seq_len_, path_ = sys.argv[1:6]
    fit = suite_fit if mode == "suite" else bare_fit
    print(json.dumps(fit(Path(folder_), student_, int(seq_len_), Path(path_))))
