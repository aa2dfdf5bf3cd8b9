"""Which kind of student a dataset needs (`kdsuite diagnose`), measured three ways:

- word order: the teacher labels a seeded sample of test texts as written and with their words shuffled
  (`shuffles` seeded permutations of each text's whitespace-separated words). With a = the share of (row,
  shuffle) pairs whose answer is unchanged and c = sum_k p_k q_k the agreement expected by chance (p, q: the
  shares of each class among the answers on original and on shuffled texts), the sensitivity is
  s = (1 - a) / (1 - c), clipped to [0, 1] (0 when c = 1): 0 = order never changes an answer, 1 = answers on
  shuffled text agree with the originals no more than chance. A bag-of-n-grams teacher (the scikit-learn family)
  sees order only inside its n-grams, none with unigrams, so its score is a lower bound: use a transformer.
- lexical cues: the tuned bag-of-words baseline's (tfidf-logreg) test accuracy as a share of the teacher's.
- lengths: test text lengths in the students' tokens (their standardisation, split on whitespace) at the 50th,
  90th and 99th percentiles, and the share of rows longer than the students' seq_len (cut by truncation).

The result is a DiagnosisRecord in `OUT/diagnostics/<key>.json`, keyed by the data, the teacher's stored logits
and the options: a second call returns it."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from kdsuite import store
from kdsuite.errors import KdsuiteError
from kdsuite.records import BaselineRecord, DiagnosisRecord, StudentRecord, read_record, read_records, write_record

FORMULA = "s = clip((1 - a) / (1 - c), 0, 1), c = sum_k p_k q_k"
TRANSFORMER_ROWS = 300  # default sample for a teacher that is not a scikit-learn model (MiniLM: ~45 rows/s on CPU)
BASELINE = "tfidf-logreg"
_PUNCTUATION = re.compile(r"[!\"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']")  # what the students' standardisation strips
_SPACE = re.compile(r"[ \t\n\r\x0b\x0c]+")  # TextVectorization splits on ASCII whitespace


def shuffle_words(texts, seed: int) -> list[str]:
    """Each text with its whitespace-separated words in a seeded random order."""
    rng = np.random.default_rng(seed)
    out = []
    for text in texts:
        words = str(text).split()
        out.append(" ".join(words[i] for i in rng.permutation(len(words))))
    return out


def word_order(predict, texts, labels, num_classes: int, shuffles: int = 3, seed: int = 0) -> dict:
    """Agreement of `predict` (texts -> class ids) between `texts` and `shuffles` word-shuffled copies (seeds
    seed, seed + 1, ...), the chance agreement and the sensitivity (module docstring), and accuracies."""
    original = np.asarray(predict(list(texts)))
    shuffled = [np.asarray(predict(shuffle_words(texts, seed + k))) for k in range(shuffles)]
    per_shuffle = [float((s == original).mean()) for s in shuffled]
    agreement = float(np.mean(per_shuffle))
    p = np.bincount(original, minlength=num_classes) / len(original)
    q = np.bincount(np.concatenate(shuffled), minlength=num_classes) / (len(original) * shuffles)
    chance = float(p @ q)
    sensitivity = 0.0 if chance >= 1 else float(np.clip((1 - agreement) / (1 - chance), 0, 1))
    labels = np.asarray(labels)
    return {"rows": len(original), "shuffles": shuffles, "seed": seed, "agreement": round(agreement, 5),
            "agreement_per_shuffle": [round(a, 5) for a in per_shuffle], "chance_agreement": round(chance, 5),
            "sensitivity": round(sensitivity, 5), "formula": FORMULA,
            "accuracy_original": round(float((original == labels).mean()), 5),
            "accuracy_shuffled": round(float(np.mean([(s == labels).mean() for s in shuffled])), 5)}


def token_counts(texts) -> np.ndarray:
    """Tokens per text as the students see them before truncation: lower-cased, punctuation stripped, split on
    whitespace (`engine/tokens.py`'s STANDARDIZE)."""
    return np.array([len([w for w in _SPACE.split(_PUNCTUATION.sub("", str(t).lower())) if w]) for t in texts])


def lengths(texts, seq_len: int) -> dict:
    counts = token_counts(texts)
    return {"split": "test", "rows": len(counts), "seq_len": seq_len,
            **{f"p{q}": int(np.percentile(counts, q, method="inverted_cdf")) for q in (50, 90, 99)},
            "max": int(counts.max()), "truncated_share": round(float((counts > seq_len).mean()), 5)}


def lexical(ds, teacher_accuracy: float, out: Path) -> dict:
    """The tuned bag-of-words baseline's test accuracy as a share of the teacher's: the baseline's stored records
    on this data in `out` (mean over seeds), else fitted now."""
    stored = [r for r in (read_records(out / "results") if (out / "results").is_dir() else [])
              if isinstance(r, BaselineRecord) and r.model == BASELINE and r.data_fingerprint == ds.fingerprint]
    if stored:
        accuracy, source = float(np.mean([r.test["accuracy"] for r in stored])), f"{len(stored)} stored record(s)"
    else:
        from kdsuite.teachers.sklearn import run_baseline

        accuracy, source = run_baseline(ds, model=BASELINE)["test"]["accuracy"], "fitted now"
    return {"baseline": BASELINE, "source": source, "baseline_accuracy": round(accuracy, 5),
            "teacher_accuracy": round(teacher_accuracy, 5), "share": round(accuracy / teacher_accuracy, 5)}


def students_seq_len(ds, out: Path) -> int:
    """The sequence length most of the students stored in `out` for this data read, else the dataset default."""
    from kdsuite.data.datasets import default_length

    seen = Counter(r.config["seq_len"] for r in (read_records(out / "results") if (out / "results").is_dir() else [])
                   if isinstance(r, StudentRecord) and r.data_fingerprint == ds.fingerprint
                   and (r.config or {}).get("seq_len"))
    return seen.most_common(1)[0][0] if seen else default_length(ds.name)


def diagnose(ds, teacher: str, out: str | Path, shuffles: int = 3, rows: int | None = None, seed: int = 0,
             seq_len: int | None = None, model=None) -> DiagnosisRecord:
    """The stored diagnosis of `ds` by `teacher` with these options, else computed and stored in
    `out/diagnostics/`. `model` (a fitted `Teacher`) replaces the teacher's cached fit, e.g. in tests."""
    from kdsuite.teachers.logit_store import stored_meta
    from kdsuite.teachers.runs import finetuned_teacher, teacher_record

    if shuffles < 1:
        raise KdsuiteError(f"--shuffles must be at least 1, got {shuffles}")
    if rows is not None and rows < 2:
        raise KdsuiteError(f"--rows must be at least 2, got {rows}")
    out = Path(out)
    record = teacher_record(teacher, ds)
    given = None if model is None else type(model).__name__  # a stand-in model keys its own diagnosis
    sklearn = (getattr(model, "family", None) if model is not None else record.get("family")) == "sklearn"
    test = ds.splits["test"]
    rows = min(rows or (len(test) if sklearn else TRANSFORMER_ROWS), len(test))
    seq_len = seq_len or students_seq_len(ds, out)
    key = store.key(data=ds.fingerprint, teacher=teacher, logits=stored_meta(teacher, ds)[1].get("logits_hash"),
                    shuffles=shuffles, rows=rows, seed=seed, seq_len=seq_len, model=given)
    path = out / "diagnostics" / f"{key}.json"
    if path.is_file():
        return read_record(path)
    t0 = time.perf_counter()
    model = model or finetuned_teacher(ds, teacher)
    idx = np.sort(np.random.default_rng(seed).choice(len(test), rows, replace=False))
    order = word_order(lambda texts: model.predict(model.encode(texts)).argmax(1), test.texts[idx], test.labels[idx],
                       ds.num_classes, shuffles, seed)
    if sklearn:
        ngrams = getattr(getattr(model, "pipeline", None), "options", {}).get("ngram_range")
        order["note"] = (f"{teacher} is a bag of n-grams{f' (n = {ngrams[0]}-{ngrams[1]})' if ngrams else ''}: it "
                         f"sees word order only inside its n-grams, so this is a lower bound; use a transformer "
                         f"teacher for the score")
    diagnosis = DiagnosisRecord.from_fields({
        "status": "ok", "dataset": ds.name, "model": teacher, "kind": "diagnosis", "seed": seed, "teacher": teacher,
        "commit": store.git_commit(), "key": key, "data_fingerprint": ds.fingerprint, "word_order": order,
        "lexical": lexical(ds, record["test"]["accuracy"], out), "lengths": lengths(test.texts, seq_len),
        "wall_s": round(time.perf_counter() - t0, 1)})
    write_record(path, diagnosis)
    return diagnosis


def load(out: str | Path) -> list[DiagnosisRecord]:
    folder = Path(out) / "diagnostics"
    return [r for r in read_records(folder) if isinstance(r, DiagnosisRecord)] if folder.is_dir() else []


def best(diagnoses: list[DiagnosisRecord], dataset: str) -> DiagnosisRecord | None:
    """The diagnosis of `dataset` to trust most: a teacher that sees word order first, then the most rows."""
    found = [d for d in diagnoses if d.dataset == dataset]
    return max(found, key=lambda d: ("note" not in d.word_order, d.word_order["rows"], d.key), default=None)


def summary(d: DiagnosisRecord) -> str:
    """One line: sensitivity, lexical share and lengths."""
    w, lex, n = d.word_order, d.lexical, d.lengths
    return (f"word-order sensitivity {w['sensitivity']:.2f} (teacher {d.teacher}, {w['rows']} test rows x "
            f"{w['shuffles']} shuffles: agreement {100 * w['agreement']:.1f}%, "
            f"chance {100 * w['chance_agreement']:.1f}%"
            f"; {w['formula']}); bag-of-words baseline at {100 * lex['share']:.1f}% of the teacher "
            f"({lex['baseline']} {100 * lex['baseline_accuracy']:.2f}% vs {100 * lex['teacher_accuracy']:.2f}%); "
            f"test length in student tokens p50/p90/p99 {n['p50']}/{n['p90']}/{n['p99']}, "
            f"{100 * n['truncated_share']:.1f}% cut at {n['seq_len']}")


def markdown(diagnoses: list[DiagnosisRecord], dataset: str) -> list[str]:
    found = sorted((d for d in diagnoses if d.dataset == dataset), key=lambda d: (d.teacher, d.key))
    if not found:
        return []
    return ["### Diagnosis", ""] + [f"- {summary(d)}" + (f". {d.word_order['note']}." if "note" in d.word_order
                                                         else "") for d in found] + [""]
