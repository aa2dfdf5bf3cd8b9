"""Teacher runs: fine-tune (when the teacher is trainable), export logits for every split, measure, cache.

A run is keyed by teacher, the dataset's base fingerprint and the config; a second run with the same inputs
returns the cached result without touching the model. Fine-tuning state lives in
`cache_root()/teachers/<teacher>/<dataset>-<key>/` (token cache, checkpoints per epoch and every N steps,
TensorBoard logs, the export's finished chunks of logits), so a killed fine-tune resumes at its last checkpoint and
a killed export at its first missing chunk.

Out-of-fold logits (`oof=K`, teachers with `oof_predict`: the scikit-learn family): after the fit on all
training rows, each training row is relabelled by the same settings refitted on the other K-1 folds
(stratified, shuffled with the fit's seed); validation, test and unlabelled logits still come from the model
fitted on all rows. The fold of every train row (-1: not fitted, as after --max-train) is kept in `folds.npz`
beside the logits (and `<dataset>__<teacher>.folds.npz` beside a shipped copy); `fit.oof` records K, the seed,
rows per fold and the train accuracy of both kinds of logits. Ensembles: see `ensemble.py`.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from pathlib import Path

import numpy as np

from kdsuite.data.datasets import default_length, load_dataset
from kdsuite.errors import KdsuiteError
from kdsuite.metrics import classification_metrics
from kdsuite.store import atomic_path, cache_root, git_commit, key, locked
from kdsuite.teachers import FAMILIES, TEACHERS, ensemble, is_ensemble, logit_store, make_teacher
from kdsuite.teachers.logit_store import teacher_id


def load_teacher_logits(teacher: str, ds) -> dict[str, np.ndarray]:
    """`teacher`'s logits for every split of `ds` from its stored run (cache, else the committed copy); an
    ensemble is first recombined from its members when they are at hand."""
    if is_ensemble(teacher):
        ensemble.refresh(teacher, ds)
    return logit_store.read_logits(teacher, ds)


def teacher_record(teacher: str, ds) -> dict:
    """The leaderboard row of `teacher` on `ds` from its stored run (an ensemble recombined first), or from the
    file of a `logits:FILE` teacher; named as the suite names it."""
    if teacher.startswith("logits:") and not is_ensemble(teacher):
        return _file_record(teacher, ds)
    if is_ensemble(teacher):
        ensemble.refresh(teacher, ds)
    return logit_store.read_record(teacher, ds)


def _file_record(teacher: str, ds) -> dict:
    """A `logits:FILE` teacher's row: test metrics of the file's own logits, the rest from the `.json` beside it."""
    path = Path(teacher.removeprefix("logits:")).expanduser()
    logits = logit_store.read_logits(teacher, ds)
    test = classification_metrics(ds.splits["test"].labels, logits["test"].argmax(axis=1), ds.label_names)
    return logit_store.row(teacher, ds, path, logit_store.read_meta(path.with_suffix(".json")) or {}, test)


def _encoded(teacher, ds, workdir: Path, rows: dict[str, int]) -> dict[str, dict[str, np.ndarray]]:
    """Every split (its first `rows[split]` texts) tokenised by `teacher`, cached in `workdir` unless the teacher
    says its encoding is cheap (`cache_encoding = False`)."""
    out = {}
    for split, data in ds.splits.items():
        if not (teacher.trainable and teacher.cache_encoding):
            out[split] = teacher.encode(data.texts[:rows[split]])
            continue
        path = workdir / (f"tokens-{split}.npz" if rows[split] == len(data) else f"tokens-{split}-{rows[split]}.npz")
        if not path.exists():
            arrays = teacher.encode(data.texts[:rows[split]])
            logit_store.write_npz(path, arrays)
        with np.load(path) as f:
            out[split] = {k: f[k] for k in f.files}
    return out


def run_teacher(dataset: str, teacher: str = "minilm-l6", *, epochs: int = 3, max_length: int | None = None,
                train_fraction: float | None = None, max_train: int | None = None, batch_size: int = 32,
                lr: float = 5e-5, warmup: float = 0.1, patience: int = 1, seed: int = 0, data_seed: int = 0,
                val_size: float = 0.1,
                unlabelled_rows: int | None = None, data_dir: str | None = None,
                ship_dir: str | Path | None = None, verbose: int | str = "auto", oof: int | None = None,
                truncation: str = "head", checkpoint_every: int = 200) -> dict:
    """Fine-tune `teacher` on `dataset` (subsampled train if asked), export logits for every full split, and
    return a JSON-able record: test metrics, params, latency, timings and where the logits are cached.

    `truncation` (`head`, or `head+tail` for the keras-hub family) says which tokens of a long text the teacher
    reads; it keys the run. `checkpoint_every` N steps the fine-tune also checkpoints inside an epoch (0: only
    after each) for a teacher whose `fit` takes it; recorded in `fit`, it does not key the run.

    `unlabelled_rows` caps the export of unlabelled splits (IMDb `unsup`) to their first N rows: enough for a
    transfer set `unsup:N`, at a fraction of the cost. The fine-tuned checkpoint does not depend on it.

    `seed` moves the fit (initialisation, batch order); `data_seed` and `val_size` carve the data, as in every
    kdsuite command, so the logits match the splits that `kdsuite distill --data-seed` sees.
    `ship_dir` also writes the compact float16 copy there (`teachers/logits` to ship it with kdsuite).
    `oof` (K >= 2) replaces the logits of the training rows with out-of-fold ones (see the module docstring).
    An ensemble spec (`a+b`, see `ensemble.py`) combines its members' logits instead of fitting.
    """
    if is_ensemble(teacher):
        if oof is None and (train_fraction is not None or max_train is not None):
            raise KdsuiteError("an ensemble fits nothing: --train-fraction/--max-train apply to its members' runs "
                               "(with --oof, or run each member first)")
        if truncation != "head":
            raise KdsuiteError("an ensemble reads no text: --truncation applies to its members' runs")
        return _run_ensemble(dataset, teacher, oof=oof, ship_dir=ship_dir, data_seed=data_seed, val_size=val_size,
                            data_dir=data_dir, seed=seed, unlabelled_rows=unlabelled_rows, verbose=verbose,
                            train_fraction=train_fraction, max_train=max_train)
    from kdsuite.backend import use_backend

    use_backend("tensorflow")
    if epochs < 1 or batch_size < 1 or lr <= 0 or (max_length is not None and max_length < 4):
        raise KdsuiteError("--epochs and --batch-size must be positive, --learning-rate above 0, --max-length >= 4")
    if unlabelled_rows is not None and unlabelled_rows < 0:
        raise KdsuiteError(f"--unlabelled-rows must be >= 0, got {unlabelled_rows}")
    if checkpoint_every < 0:
        raise KdsuiteError(f"--checkpoint-every must be >= 0 steps (0: after each epoch only), got {checkpoint_every}")
    full = load_dataset(dataset, data_dir, val_size=val_size, seed=data_seed)
    view = full
    if train_fraction is not None or max_train is not None:
        view = load_dataset(dataset, data_dir, val_size=val_size, seed=data_seed, train_fraction=train_fraction,
                            max_train=max_train)
    max_length = max_length or default_length(full.name)
    if oof is not None:
        check_oof_k(oof, view.splits["train"].labels, full.label_names)
        _check_refittable(teacher, oof, refittable(teacher))
    model = _make(teacher, full.label_names, max_length, truncation)
    if oof is not None:
        _check_refittable(teacher, oof, model.trainable and hasattr(model, "oof_predict"))
    config = {"teacher": model.config()}
    options = dict(epochs=epochs, batch_size=batch_size, lr=lr, warmup=warmup, patience=patience, seed=seed)
    options = {k: v for k, v in options.items() if k in model.fit_options} if model.trainable else {}
    fit_args = dict(options, seed=seed, verbose=verbose)
    if model.trainable:
        config.update(options, train={k: v for k, v in view.recipe.items() if k in ("train_fraction", "max_train")})
        if "checkpoint_every" in inspect.signature(model.fit).parameters:
            fit_args["checkpoint_every"] = checkpoint_every
    run_key = key(teacher=teacher_id(teacher), base=full.base_fingerprint, config=config)  # names the fine-tune
    rows = {s: len(d) if (d.labels >= 0).any() or unlabelled_rows is None else min(len(d), unlabelled_rows)
            for s, d in full.splits.items()}
    export = {"unlabelled_rows": unlabelled_rows} if unlabelled_rows is not None else {}
    export |= {"oof": oof} if oof is not None else {}
    folder = logit_store.cache_dir(teacher, full.name, key(fit=run_key, **export) if export else run_key)
    with locked(folder):
        meta_path = folder / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            meta["cached"] = True
        else:
            meta = _run(model, teacher, full, view, config, export, folder, f"{full.name}-{run_key}", rows,
                        fit_args, oof=oof)
            meta["cached"] = False
    if ship_dir is not None:
        compact = Path(ship_dir) / f"{full.name}__{teacher_id(teacher)}.npz"
        meta["compact"] = str(logit_store.save_compact(compact, _load(folder), meta))
        if (folder / FOLDS_FILE).is_file():
            logit_store.write_npz(compact.with_suffix(".folds.npz"), _load(folder, FOLDS_FILE))
    meta["cache"] = str(folder)
    return meta


def _make(teacher: str, label_names: list[str], max_length: int, truncation: str = "head"):
    """`make_teacher`, set to truncate long texts as `truncation` says (a teacher's `truncations` lists its ways)."""
    model = make_teacher(teacher, label_names, max_length)
    if truncation != "head":
        ways = getattr(model, "truncations", ("head",))
        if truncation not in ways:
            raise KdsuiteError(f"--truncation {truncation}: {teacher} truncates as {' or '.join(ways)}")
        model.truncation = truncation
    return model


FOLDS_FILE = "folds.npz"


def check_oof_k(k, labels: np.ndarray, label_names: list[str]) -> None:
    """K folds need K >= 2 and at least K training rows of every class."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise KdsuiteError(f"--oof must be at least 2 folds, got {k}")
    counts = np.bincount(np.asarray(labels), minlength=len(label_names))
    smallest = int(counts.argmin())
    if k > counts[smallest]:
        raise KdsuiteError(f"--oof {k} is above the {counts[smallest]} training rows of the smallest class "
                           f"({label_names[smallest]!r})")


def refittable(teacher: str) -> bool | None:
    """Whether `teacher` gives out-of-fold logits (`oof_predict`), from its registration without building it:
    True for the scikit-learn family, False for other registered ones, None for `module:attr` (build to see)."""
    family, sep, _ = teacher.partition(":")
    if sep and family in FAMILIES.names():
        return False
    entry = TEACHERS.get(teacher)
    return None if entry.meta.get("family") == "external" else entry.meta.get("family") == "sklearn"


def _check_refittable(teacher: str, k: int, ok: bool | None) -> None:
    if ok is False:
        raise KdsuiteError(f"--oof {k}: {teacher} cannot be refitted cheaply; out-of-fold logits are for "
                           f"scikit-learn teachers (tfidf-logreg, nbsvm) and ensembles of them")


def oof_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The fold (0..k-1) of every row: stratified, shuffled with `seed`."""
    from sklearn.model_selection import StratifiedKFold

    folds = np.full(len(labels), -1, np.int16)
    for fold, (_, held) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(labels, labels)):
        folds[held] = fold
    return folds


def _out_of_fold(model, enc_train: dict, full, view, k: int, seed: int, fitted: np.ndarray,
                 folder: Path) -> tuple[np.ndarray, dict]:
    """Train logits with every fitted row labelled out of fold, and the record of the folds."""
    import hashlib

    labels, idx = full.splits["train"].labels, view.train_index
    folds = np.full(len(labels), -1, np.int16)
    folds[idx] = oof_folds(labels[idx], k, seed)
    out = np.array(fitted, np.float32, copy=True)
    start = time.perf_counter()
    out[idx] = model.oof_predict(({n: v[idx] for n, v in enc_train.items()}, labels[idx]), folds[idx], seed)
    logit_store.write_npz(folder / FOLDS_FILE, {"train": folds})
    accuracy = lambda z: round(float((z[idx].argmax(1) == labels[idx]).mean()), 5)
    return out, {
        "k": k, "seed": seed, "method": "StratifiedKFold(shuffle=True)", "file": FOLDS_FILE,
        "rows_per_fold": np.bincount(folds[idx], minlength=k).tolist(), "rows_not_fitted": int((folds < 0).sum()),
        "folds_sha256": hashlib.sha256(folds.tobytes()).hexdigest(),
        "train_accuracy": {"out_of_fold": accuracy(out), "fitted_on_all": accuracy(fitted)},
        "refit_s": round(time.perf_counter() - start, 1),
    }


def finetuned_teacher(ds, teacher: str):
    """`teacher` as fitted on `ds` by a cached `kdsuite teacher` run on this machine (its best checkpoint); a
    teacher that is not trained here (an `hf` classifier) as it is; an ensemble as its members' fitted models
    (a student member: its `student_text.keras`) with the weights chosen on `ds`."""
    if is_ensemble(teacher):
        weights = ensemble.build(teacher, ds)["fit"]["weights"]
        members, _ = ensemble.parse(teacher)
        return ensemble.EnsembleTeacher(teacher, ds.label_names, [_fitted_member(m, ds) for m in members],
                                        [weights[m.spec] for m in members])
    record = teacher_record(teacher, ds)
    meta_path = Path(record["logits"]).with_name("meta.json")
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    config = meta.get("config", {}).get("teacher", {})
    model = _make(teacher, ds.label_names, config.get("max_length") or default_length(ds.name),
                  config.get("truncation", "head"))
    if model.trainable and not (meta and model.restore(Path(meta["workdir"]))):
        raise KdsuiteError(f"this needs {teacher}'s fine-tuned checkpoint for {ds.name}; "
                           f"run `kdsuite teacher {ds.name} --teacher {teacher}` on this machine first")
    return model


def _fitted_member(member: "ensemble.Member", ds):
    return ensemble.student_labeller(member, ds.label_names) or finetuned_teacher(ds, member.spec)


def _run_ensemble(dataset: str, spec: str, *, oof: int | None = None, ship_dir=None, data_seed: int = 0,
                  val_size: float = 0.1, data_dir: str | None = None, **member_options) -> dict:
    """`kdsuite teacher DATASET --teacher A+B`: combine the members' stored logits (with `oof`, first run each
    member with out-of-fold training logits), cache, and ship a compact copy to `ship_dir` when asked."""
    ds = load_dataset(dataset, data_dir, val_size=val_size, seed=data_seed)
    members, _ = ensemble.parse(spec)
    folders = None
    if oof is not None:
        check_oof_k(oof, ds.splits["train"].labels, ds.label_names)
        for m in members:
            if m.kind != "teacher" or refittable(m.spec) is False:
                _check_refittable(f"ensemble member {m.spec!r}", oof, False)
        folders = {m.spec: Path(run_teacher(dataset, m.spec, oof=oof, data_seed=data_seed, val_size=val_size,
                                            data_dir=data_dir, **member_options)["cache"]) for m in members}
    meta = ensemble.build(spec, ds, folders)
    if oof is not None:
        meta["config"]["oof"] = oof
    if ship_dir is not None:
        compact = Path(ship_dir) / f"{ds.name}__{teacher_id(spec)}.npz"
        meta["compact"] = str(logit_store.save_compact(compact, _load(Path(meta["cache"])), meta))
    return meta


def _load(folder: Path, name: str = "logits.npz") -> dict[str, np.ndarray]:
    with np.load(folder / name) as f:
        return {k: f[k] for k in f.files}


EXPORT_CHUNK = 2048  # rows per file of logits kept while exporting: a killed export resumes at the first missing one


def _write_chunk(path: Path, logits: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(logits, np.float32))


def _export(model, x: dict[str, np.ndarray], folder: Path, split: str) -> tuple[np.ndarray, int, int]:
    """`model`'s logits for the encoded rows of `split`, EXPORT_CHUNK rows at a time, each kept in `folder` as it
    is done (a resumed export, or one of more rows, reuses them); also the chunks reused and computed."""
    rows, parts, reused = len(next(iter(x.values()))), [], 0
    for start in range(0, rows, EXPORT_CHUNK):
        stop = min(start + EXPORT_CHUNK, rows)
        path = folder / f"{split}-{start}-{stop}.npy"
        if path.is_file():
            parts.append(np.load(path))
            reused += 1
            continue
        parts.append(model.predict({k: v[start:stop] for k, v in x.items()}))
        _write_chunk(path, parts[-1])
    return (np.concatenate(parts) if parts else model.predict(x)), reused, len(parts) - reused


def _run(model, teacher: str, full, view, config: dict, export: dict, folder: Path, fit_name: str, rows: dict[str, int],
         fit_args: dict, oof: int | None = None) -> dict:
    from kdsuite.metrics import classification_metrics

    workdir = cache_root() / "teachers" / teacher_id(teacher) / fit_name
    workdir.mkdir(parents=True, exist_ok=True)
    timings = {}
    start = time.perf_counter()
    enc = _encoded(model, full, workdir, rows)
    timings["tokenise_s"] = round(time.perf_counter() - start, 1)
    fit = None
    if model.trainable:
        start = time.perf_counter()
        idx = view.train_index
        train = ({k: v[idx] for k, v in enc["train"].items()}, full.splits["train"].labels[idx])
        fit = model.fit(train, (enc["validation"], full.splits["validation"].labels), workdir, **fit_args)
        timings["fit_s"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    logits, chunks = {}, {"rows": EXPORT_CHUNK, "reused": 0, "computed": 0}
    for split in full.splits:
        if fit_args["verbose"]:
            print(f"{teacher}: logits for {split} ({rows[split]} rows)", file=sys.stderr, flush=True)
        logits[split], reused, computed = _export(model, enc[split], workdir / "export", split)
        chunks.update(reused=chunks["reused"] + reused, computed=chunks["computed"] + computed)
    timings["logits_s"] = round(time.perf_counter() - start, 1)
    if oof is not None:
        logits["train"], fit["oof"] = _out_of_fold(model, enc["train"], full, view, oof, fit_args["seed"],
                                                   logits["train"], folder)
        timings["oof_s"] = fit["oof"]["refit_s"]
    metrics = {split: classification_metrics(full.splits[split].labels, logits[split].argmax(1), full.label_names)
               for split in ("validation", "test")}
    meta = {
        "model": teacher, "kind": "teacher", "family": model.family, "teacher": teacher, "dataset": full.name,
        "data_source": full.source, "data_fingerprint": full.fingerprint, "base_fingerprint": full.base_fingerprint,
        "data_recipe": view.recipe, "train_rows": len(view.splits["train"]), "seed": fit_args["seed"],
        "label_names": list(full.label_names), "num_classes": full.num_classes, "config": config | export,
        "rows": rows, **metrics,
        "param_count": model.count_params(), "param_count_note": "backbone + classification head",
        "latency_ms_b1": round(model.latency_ms(enc["test"]), 2), "fit": fit, "times_s": timings,
        "logit_chunks": chunks, "workdir": str(workdir), "commit": git_commit(),
    }
    logit_store.save_cache(folder, logits, meta)
    return meta
