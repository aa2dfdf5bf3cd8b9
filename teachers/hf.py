"""Hugging Face teachers: an already fine-tuned `transformers` sequence classifier (local folder or hub id),
used as a logit source only (no fine-tuning here). Needs the `hf` extra (`transformers` 5.x + torch).

Its `config.id2label` must name the dataset's labels (case-insensitively, any order); the logits are reordered
to the dataset's label order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdsuite.errors import KdsuiteError
from kdsuite.data.hub import hub_reachable
from kdsuite.teachers import register_family
from kdsuite.teachers.base import batches_by_length, median_ms


def _load(source: str):
    """(tokenizer, model) from a local folder, the local Hugging Face cache, or the hub."""
    try:
        import torch  # noqa: F401
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
    except ImportError:
        raise KdsuiteError("hf teachers need the hf extra: pip install 'kdsuite[hf]'") from None
    local = Path(source).expanduser()
    offline_hint = (f"download it where you are online (hf download {source} --local-dir DIR) and pass hf:DIR")

    def load(**kw):
        where = str(local) if local.is_dir() else source
        return (AutoTokenizer.from_pretrained(where, **kw),
                AutoModelForSequenceClassification.from_pretrained(where, **kw).eval())

    def first_line(exc: Exception) -> str:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

    try:
        return load(local_files_only=True)
    except Exception as exc:
        if local.is_dir():
            raise KdsuiteError(f"hf teacher {source!r}: cannot load this folder ({first_line(exc)})") from None
    if not hub_reachable():
        raise KdsuiteError(f"hf teacher {source!r}: not a local folder nor in the Hugging Face cache, and the "
                           f"hub is unreachable; {offline_hint}")
    try:
        return load()
    except Exception as exc:
        raise KdsuiteError(f"hf teacher {source!r}: cannot load from the hub ({first_line(exc)}); "
                           f"{offline_hint}") from None


@register_family("hf", family="hf", description="a fine-tuned Hugging Face sequence classifier (logits only)")
class HFTeacher:
    """A `transformers` sequence classifier run with torch; its labels mapped onto the dataset's."""

    family = "hf"
    trainable = False

    def __init__(self, source: str, *, label_names: list[str], max_length: int, name: str | None = None):
        self.name, self.source = name or f"hf:{source}", source
        self.label_names, self.max_length = list(label_names), max_length
        self.tokenizer, self.model = _load(source)
        id2label = {int(i): str(n) for i, n in self.model.config.id2label.items()}
        theirs = {n.lower(): i for i, n in id2label.items()}
        if len(theirs) != len(id2label) or sorted(theirs) != sorted(n.lower() for n in label_names):
            raise KdsuiteError(f"hf teacher {source!r}: its labels {[id2label[i] for i in sorted(id2label)]} "
                               f"do not match the dataset's {self.label_names}")
        self.order = np.array([theirs[n.lower()] for n in label_names])  # dataset label j -> model output

    def config(self) -> dict:
        return {"family": self.family, "teacher": self.name, "max_length": self.max_length,
                "model": getattr(self.model.config, "_name_or_path", self.source)}

    def count_params(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    def encode(self, texts) -> dict[str, np.ndarray]:
        enc = self.tokenizer([str(t) for t in texts], truncation=True, max_length=self.max_length,
                             padding="max_length", return_tensors="np")
        return {k: np.asarray(v) for k, v in enc.items()}

    def predict(self, x: dict[str, np.ndarray], batch_size: int = 128) -> np.ndarray:
        """Logits [N, K] (float32) in the dataset's label order."""
        import torch

        lengths = x["attention_mask"].sum(1)
        out = np.zeros((len(lengths), len(self.label_names)), np.float32)
        with torch.inference_mode():
            for b in batches_by_length(lengths, batch_size):
                n = int(lengths[b].max())
                batch = {k: torch.from_numpy(np.ascontiguousarray(v[b, :n])) for k, v in x.items()}
                out[b] = self.model(**batch).logits.float().numpy()[:, self.order]
        return out

    def latency_ms(self, x: dict[str, np.ndarray], rows: int = 20) -> float:
        """Median milliseconds to classify one row padded to `max_length` (batch of 1, after warm-up)."""
        import torch

        with torch.inference_mode():
            return median_ms(lambda i: self.model(**{k: torch.from_numpy(v[i % len(v)][None]) for k, v in x.items()}),
                             min(rows, len(x["attention_mask"])))
