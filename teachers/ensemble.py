"""Teacher ensembles from cached logits (Hinton et al.'s original case): `A+B[+C...][@wA,wB,...]`.

An ensemble's logits are the weighted mean of its members' log-probabilities (log-softmax of their logits),
split by split. Without `@weights`, the weights are chosen on the validation split over a grid on the simplex
(steps of 0.05; 0.1 from five members on): among the points within one standard error of the best validation
accuracy, the lowest validation log-loss (the rule the linear teachers' grids use; accuracy alone swings with
a handful of rows). They are recorded with each member's own validation and test accuracy. Given weights must
lie in [0, 1]; they are divided by their sum.

A member is
    NAME            any teacher (registered name or FAMILY:SOURCE): its cached logits, else the committed ones
    logits:FILE     an .npz of per-split logits (checked like `--teacher-logits`)
    student:RUN     a trained student's run folder (its logits.npz; student_text.keras labels new text)
Members must agree with the data (label names, base fingerprint, row counts): each is checked as any teacher's
logits are. Unlabelled splits (IMDb unsup) keep the rows every member covers (the first N).

Combining costs nothing beyond the members' logits: `kdsuite teacher DATASET --teacher A+B` writes the cache
entry (and `--ship` a compact copy) like any teacher, and `runs.load_teacher_logits`/`runs.teacher_record`
(re)build it from the members whenever they are at hand (`refresh`), so an ensemble rows in the leaderboard like
any teacher. With `--oof K` the members (refittable teachers only) are first run with out-of-fold training
logits (`runs`).
To label new text (transfer sets) each member runs: a teacher's fitted checkpoint or model, a student's
`student_text.keras`; a logits file cannot.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.errors import KdsuiteError
from kdsuite.metrics import classification_metrics
from kdsuite.teachers import FAMILIES, TEACHERS
from kdsuite.teachers import logit_store
from kdsuite.teachers.base import median_ms

STEP = 0.05  # weight grid step (STEP_MANY from MANY members on)
STEP_MANY, MANY = 0.1, 5
SELECTED_ON = "lowest validation log-loss within one standard error of the best validation accuracy"


@dataclass(frozen=True)
class Member:
    spec: str
    kind: str  # "teacher" | "logits" | "student"
    path: Path | None = None


def parse(spec: str) -> tuple[list[Member], list[float] | None]:
    """(members, given weights or None) of an ensemble spec; one-line errors for bad specs."""
    body, weights = spec, None
    if "@" in spec:
        body, _, tail = spec.rpartition("@")
        try:
            weights = [float(w) for w in tail.split(",")]
        except ValueError:
            raise KdsuiteError(f"ensemble {spec!r}: weights after '@' must be numbers, e.g. a+b@0.3,0.7") from None
    names = body.split("+")
    if len(names) < 2 or any(not n.strip() for n in names):
        raise KdsuiteError(f"ensemble {spec!r}: name two or more members joined by '+'")
    if len(set(names)) != len(names):
        raise KdsuiteError(f"ensemble {spec!r}: a member is named twice")
    if weights is not None:
        if len(weights) != len(names):
            raise KdsuiteError(f"ensemble {spec!r}: {len(weights)} weights for {len(names)} members")
        bad = [w for w in weights if not 0 <= w <= 1]  # NaN fails too
        if bad:
            raise KdsuiteError(f"ensemble {spec!r}: weight {bad[0]:g} is outside [0, 1]")
        if sum(weights) <= 0:
            raise KdsuiteError(f"ensemble {spec!r}: the weights sum to 0")
    return [_member(spec, name) for name in names], weights


def _member(spec: str, name: str) -> Member:
    where = f"ensemble {spec!r}: member {name!r}"
    if name.startswith("logits:"):
        path = Path(name.removeprefix("logits:")).expanduser()
        if not path.is_file():
            raise KdsuiteError(f"{where}: no such logits file")
        return Member(name, "logits", path)
    if name.startswith("student:"):
        path = Path(name.removeprefix("student:")).expanduser()
        if not (path / "logits.npz").is_file():
            raise KdsuiteError(f"{where}: not a student run folder (no logits.npz in {path})")
        return Member(name, "student", path)
    family, sep, source = name.partition(":")
    if not (sep and family in FAMILIES.names() and source):
        try:
            TEACHERS.get(name)
        except KdsuiteError as exc:
            raise KdsuiteError(f"{where}: {exc}") from None
    return Member(name, "teacher")


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _load_member(member: Member, ds, folder: Path | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """(logits per split, facts for the record) of one member, checked against `ds`."""
    where = f"ensemble member {member.spec!r}"
    try:
        if member.kind == "teacher" and folder is not None:  # a run made for this ensemble (--oof)
            meta = json.loads((folder / "meta.json").read_text())
            raw = logit_store.read_npz(folder / "logits.npz")
            logits = logit_store.check_logits({k: v.astype(np.float16).astype(np.float32) for k, v in raw.items()},
                                              meta, ds, str(folder))
            source = folder / "logits.npz"
        elif member.kind == "teacher":
            logits = logit_store.read_logits(member.spec, ds)
            source, meta = logit_store.stored_meta(member.spec, ds)
        else:
            path = member.path if member.kind == "logits" else member.path / "logits.npz"
            logits = logit_store.load_logits_file(path, ds)
            source, meta = path, logit_store.read_meta(path.with_suffix(".json")) or {}
    except KdsuiteError as exc:
        raise KdsuiteError(f"{where}: {exc}") from None
    info = {"member": member.spec, "kind": member.kind, "logits": _where(source),
            "logits_hash": logit_store.array_hash(logits),
            "family": meta.get("family") or ((meta.get("config") or {}).get("teacher") or {}).get("family"),
            "config": meta.get("config"), "train_rows": meta.get("train_rows"),
            "param_count": meta.get("param_count"), "latency_ms_b1": meta.get("latency_ms_b1")}
    return logits, info


def _where(path: Path | None) -> str | None:
    """A member's logits file, named relative to the committed folder or the cache when it lies there."""
    if path is None:
        return None
    path = Path(path).resolve()
    for root, name in ((logit_store.COMMITTED, "teachers/logits"), (store.cache_root().resolve(), "$KDSUITE_CACHE")):
        if path.is_relative_to(root):
            return f"{name}/{path.relative_to(root)}"
    return str(path)


def combine(logps: list[dict[str, np.ndarray]], weights, splits) -> dict[str, np.ndarray]:
    """Weighted mean of members' log-probabilities per split (unlabelled splits cut to the shortest member)."""
    w = np.asarray(weights, np.float64) / np.sum(weights)
    out = {}
    for split in splits:
        n = min(len(lp[split]) for lp in logps)
        out[split] = sum(wi * lp[split][:n] for wi, lp in zip(w, logps)).astype(np.float32)
    return out


def simplex(members: int, step: float) -> np.ndarray:
    """Every weight vector on the simplex with coordinates in multiples of `step` [points, members]."""
    n = round(1 / step)
    points = [p + (n - sum(p),) for p in itertools.product(range(n + 1), repeat=members - 1) if sum(p) <= n]
    return np.asarray(points, np.float64) / n


def choose_weights(val_logps: list[np.ndarray], labels: np.ndarray, step: float | None = None) -> tuple[list, dict]:
    """The grid point kept (among those within one standard error of the best validation accuracy, the lowest
    validation log-loss) and the search's record."""
    step = step or (STEP if len(val_logps) < MANY else STEP_MANY)
    grid = simplex(len(val_logps), step)
    stacked = np.stack(val_logps)  # [members, rows, classes]
    labels = np.asarray(labels)
    acc, nll = np.empty(len(grid)), np.empty(len(grid))
    for start in range(0, len(grid), 256):
        z = np.einsum("cm,mnk->cnk", grid[start:start + 256], stacked)
        z = z - z.max(-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        acc[start:start + 256] = (z.argmax(-1) == labels).mean(1)
        nll[start:start + 256] = -logp[:, np.arange(len(labels)), labels].mean(1)
    top = acc.max()
    near = np.flatnonzero(acc >= top - (top * (1 - top) / len(labels)) ** 0.5 - 1e-12)
    best = int(near[np.argmin(nll[near])])  # as the linear teachers' grids (sklearn.select)
    weights = [round(float(w), 4) for w in grid[best]]
    return weights, {"selected_on": SELECTED_ON, "step": step, "points": len(grid),
                     "val_accuracy": float(acc[best]), "val_log_loss": round(float(nll[best]), 5)}


def _key(spec: str, ds, infos: list[dict], given) -> str:
    return store.key(ensemble=spec, base=ds.base_fingerprint, members=[(i["member"], i["logits_hash"]) for i in infos],
               weights=given, step=(STEP, STEP_MANY, MANY), selected_on=SELECTED_ON)


def build(spec: str, ds, folders: dict[str, Path] | None = None) -> dict:
    """Combine the members of `spec` on `ds` into a cache entry (reused when its members' logits are unchanged)
    and return its metadata with `cache`. Nothing is written when a member is missing or disagrees.
    `folders` names runs made for this ensemble (out-of-fold members) in place of the members' stored logits."""
    start = time.perf_counter()
    members, given = parse(spec)
    loaded = [_load_member(m, ds, (folders or {}).get(m.spec)) for m in members]
    infos = [info for _, info in loaded]
    folder = logit_store.cache_dir(spec, ds.name, _key(spec, ds, infos, given))
    meta_path = folder / "meta.json"
    with store.locked(folder):
        if meta_path.exists():
            os.utime(meta_path)  # the newest entry: what `load_teacher_logits` reads first
            return json.loads(meta_path.read_text()) | {"cached": True, "cache": str(folder)}
        logps = [{s: log_softmax(v) for s, v in logits.items()} for logits, _ in loaded]
        labels = {s: ds.splits[s].labels for s in ("validation", "test")}
        search = {"selected_on": "given"}
        weights = [w / sum(given) for w in given] if given else None
        if weights is None:
            weights, search = choose_weights([lp["validation"] for lp in logps], labels["validation"])
        logits = combine(logps, weights, ds.splits)
        for info, lp in zip(infos, logps):
            info.update({f"{s}_accuracy": float((lp[s].argmax(1) == labels[s]).mean()) for s in labels})
        metrics = {s: classification_metrics(labels[s], logits[s].argmax(1), ds.label_names) for s in labels}
        unknown = [i["member"] for i in infos if i["param_count"] is None]
        latencies = [i["latency_ms_b1"] for i in infos]
        latency = None if None in latencies else round(sum(latencies), 2)
        rows = {s: len(v) for s, v in logits.items()}
        train_rows = [i["train_rows"] for i in infos if i["train_rows"] is not None]
        meta = {
            "model": spec, "kind": "teacher", "family": "ensemble", "teacher": spec, "dataset": ds.name,
            "data_source": ds.source, "data_fingerprint": ds.fingerprint, "base_fingerprint": ds.base_fingerprint,
            "data_recipe": {k: v for k, v in ds.recipe.items() if k in ("validation", "test")},
            "train_rows": max(train_rows) if train_rows else None, "seed": None,
            "label_names": list(ds.label_names), "num_classes": ds.num_classes,
            "config": {"teacher": {"family": "ensemble", "teacher": spec, "members": [m.spec for m in members],
                                   "weights": given if given else "chosen on validation"}},
            "rows": rows, **metrics,
            "param_count": sum(i["param_count"] or 0 for i in infos),
            "param_count_note": "sum of the members' parameters"
                                + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
            "latency_ms_b1": latency,
            "fit": {"weights": dict(zip([m.spec for m in members], weights)), "weight_search": search,
                    "members": infos},
            "times_s": {"combine_s": round(time.perf_counter() - start, 2)},
            "commit": store.git_commit(),
        }
        logit_store.save_cache(folder, logits, meta)
    return json.loads(meta_path.read_text()) | {"cached": False, "cache": str(folder)}


def refresh(spec: str, ds) -> None:
    """Before an ensemble's stored logits are read: rebuild its cache entry from the members when they are at
    hand; when one is missing, the stored entries (cache or committed) for this data stand, else its error."""
    try:
        build(spec, ds)
    except KdsuiteError:
        if logit_store.stored_meta(spec, ds)[0] is None:
            raise


class EnsembleTeacher:
    """An ensemble as a teacher object that labels new text: its members' fitted models (teachers' checkpoints,
    students' `student_text.keras`) and the weights chosen on the dataset they were fitted on."""

    family = "ensemble"
    trainable = False

    def __init__(self, spec: str, label_names: list[str], models: list, weights: list[float]):
        self.name, self.label_names = spec, list(label_names)
        self.members, self.given = parse(spec)
        self.models, self.weights = models, weights

    def config(self) -> dict:
        return {"family": self.family, "teacher": self.name, "members": [m.spec for m in self.members],
                "weights": self.given or "chosen on validation"}

    def count_params(self) -> int:
        return int(sum(m.count_params() for m in self.models))

    def encode(self, texts) -> dict[str, np.ndarray]:
        return {"text": np.asarray([str(t) for t in texts], dtype=object)}

    def predict(self, x: dict[str, np.ndarray], batch_size: int = 128) -> np.ndarray:
        """The weighted mean of the members' log-probabilities on these texts [N, K] (float32)."""
        texts = x["text"]
        logps = [{"rows": log_softmax(m.predict(m.encode(texts)))} for m in self.models]
        return combine(logps, self.weights, ["rows"])["rows"]

    def latency_ms(self, x: dict[str, np.ndarray], rows: int = 20) -> float:
        texts = x["text"]
        return median_ms(lambda i: self.predict({"text": texts[i % len(texts):i % len(texts) + 1]}),
                         min(rows, len(texts)))


def student_labeller(member: Member, label_names: list[str]) -> StudentMember | None:
    """The model that labels new text for a student member, None for a teacher member (its own fitted model
    does); a logits file cannot label new text."""
    if member.kind == "logits":
        raise KdsuiteError(f"ensemble member {member.spec!r} is a file of logits: it cannot label new text "
                           f"(name the teacher or a student run folder instead)")
    return StudentMember(member.path, label_names) if member.kind == "student" else None


class StudentMember:
    """A trained student as an ensemble member: `student_text.keras` (raw strings in, probabilities out). That
    model is a TensorFlow one (its TextVectorization): in a process whose Keras runs another backend (a JAX or
    PyTorch student's cell labelling its transfer text) it labels in a TensorFlow process of its own."""

    def __init__(self, run_dir: Path, label_names: list[str]):
        info_path = Path(run_dir) / "student.json"
        self.model_path = Path(run_dir) / "student_text.keras"
        if not self.model_path.is_file() or not info_path.is_file():
            raise KdsuiteError(f"{run_dir}: no student_text.keras/student.json to label new text with "
                               f"(students saved on TensorFlow have one)")
        names = json.loads(info_path.read_text()).get("label_names")
        if names != list(label_names):
            raise KdsuiteError(f"{run_dir}: student label names {names} differ from {list(label_names)}")
        keras = sys.modules.get("keras")
        self.model = None if keras and keras.backend.backend() != "tensorflow" else _load_text_model(self.model_path)

    def count_params(self) -> int:
        if self.model is None:
            raise KdsuiteError(f"{self.model_path}: a TensorFlow model; count its weights in a TensorFlow process")
        return int(self.model.count_params())

    def encode(self, texts) -> dict[str, np.ndarray]:
        return {"text": np.asarray([str(t) for t in texts], dtype=object)}

    def predict(self, x: dict[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
        texts = x["text"].astype(str)
        if self.model is not None:
            return _log_probs(self.model, texts, batch_size)
        from kdsuite.backend import run_module

        with tempfile.TemporaryDirectory() as tmp:
            np.save(Path(tmp, "texts.npy"), texts)
            run_module("kdsuite.teachers.ensemble", "tensorflow", str(self.model_path), tmp, str(batch_size))
            return np.load(Path(tmp, "log_probs.npy"))


def _load_text_model(path: Path):
    from kdsuite.backend import use_backend

    use_backend("tensorflow")
    from kdsuite.students import load_saved

    return load_saved(path)


def _log_probs(model, texts: np.ndarray, batch_size: int) -> np.ndarray:
    import tensorflow as tf

    probs = model.predict(tf.constant(texts.reshape(-1, 1)), batch_size=batch_size, verbose=0)
    return np.log(np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)).astype(np.float32)


def main(argv: list[str]) -> None:
    """`python -m kdsuite.teachers.ensemble MODEL.keras FOLDER BATCH`: FOLDER/texts.npy -> FOLDER/log_probs.npy."""
    model_path, folder, batch_size = argv
    texts = np.load(Path(folder, "texts.npy"))
    np.save(Path(folder, "log_probs.npy"), _log_probs(_load_text_model(Path(model_path)), texts, int(batch_size)))


if __name__ == "__main__":
    main(sys.argv[1:])
