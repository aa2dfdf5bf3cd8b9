"""Use a trained student: `load_student(run_dir).predict(texts)` tokenises exactly as training did (its saved
vocabulary, sequence length and standardisation) and returns label names and probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kdsuite.errors import KdsuiteError

NEEDED = ("student.keras", "vocabulary.txt", "student.json")


class Student:
    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise KdsuiteError(f"{self.run_dir}: no such run folder")
        missing = [name for name in NEEDED if not (self.run_dir / name).is_file()]
        if missing:
            raise KdsuiteError(f"{self.run_dir}: not a student run folder (no {', '.join(missing)})")
        from kdsuite.engine.run_folder import vectorizer
        from kdsuite.students import load_saved

        self.info = json.loads((self.run_dir / "student.json").read_text())
        self.label_names = list(self.info["label_names"])
        vocabulary = (self.run_dir / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
        self.vectorizer = vectorizer(vocabulary, self.info["seq_len"])
        self.model = load_saved(self.run_dir / "student.keras")

    def probabilities(self, texts: list[str]) -> np.ndarray:
        from kdsuite.metrics import softmax

        ids = np.asarray(self.vectorizer(np.asarray([str(t) for t in texts], dtype=object)), np.int32)
        return softmax(self.model.predict(ids, batch_size=256, verbose=0)) if len(ids) else np.zeros((0, len(self.label_names)))

    def predict(self, texts: list[str]) -> list[dict]:
        """One {"label", "probabilities": {name: p}} per text."""
        return [{"label": self.label_names[int(p.argmax())],
                 "probabilities": {name: round(float(v), 6) for name, v in zip(self.label_names, p)}}
                for p in self.probabilities(texts)]


def load_student(run_dir: str | Path) -> Student:
    """The student saved in `run_dir` (a `kdsuite distill` or suite cell's models/<key>/ folder)."""
    return Student(run_dir)
