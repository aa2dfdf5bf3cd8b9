"""What a cell is: the student training options (`TrainConfig`), the grid's vocabulary (kinds, baselines,
TFLite formats) and `Cell`, the one spec that both `kdsuite distill` and a suite's grid run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from kdsuite.errors import KdsuiteError

KINDS = ("scratch", "kd", "kd+transfer")  # student kinds a suite may ask for; "nested" comes from `nested = [...]`
STUDENT_KINDS = (*KINDS, "nested")
BASELINES = ("tfidf-logreg", "nbsvm")
TFLITE_FORMATS = ("tflite", "tflite-dr")  # float32, dynamic-range int8 weights
LOSSES = ("kl", "ce+kl", "mse", "ce")
AUGMENTATIONS = ("tang", "eda")  # transfer text drawn by augmenting the training texts (data/augment.py)
TRANSFER_SOURCES = ("unsup", "unused", *AUGMENTATIONS)


@dataclass(frozen=True)
class TrainConfig:
    """How a student is fitted; `loss` 'ce' means labels only (the scratch twin)."""

    loss: str = "kl"  # kl | ce+kl | mse | ce
    temperature: float = 1.0
    alpha: float = 0.5  # weight of the hard-label CE in ce+kl
    epochs: int = 50
    patience: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    vocab_size: int = 5000

    def validate(self) -> "TrainConfig":
        if self.loss not in LOSSES:
            raise KdsuiteError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.temperature <= 0:
            raise KdsuiteError(f"--temperature must be > 0, got {self.temperature}")
        if not 0 <= self.alpha <= 1:
            raise KdsuiteError(f"--alpha must be in [0, 1], got {self.alpha}")
        for name in ("epochs", "batch_size", "vocab_size"):
            if getattr(self, name) < 1:
                raise KdsuiteError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.patience < 0 or self.learning_rate <= 0:
            raise KdsuiteError("--patience must be >= 0 and --learning-rate > 0")
        return self


def foreign_split(kind: str) -> tuple[str, str] | None:
    """(dataset, split) for a transfer source `DATASET.SPLIT` (another dataset's text), else None."""
    name, dot, split = kind.partition(".")
    return (name, split) if dot and name and split and "." not in split else None


def parse_transfer(spec: str) -> list[tuple[str, int | None]]:
    """The sources of a transfer set `SOURCE[+SOURCE...]` as (kind, N): `unsup[:N]` (the unlabelled split, first
    N rows), `unused` (train rows left out by subsampling), `tang:N` / `eda:N` (N augmented copies per row),
    `DATASET.SPLIT[:N]` (the first N texts of another dataset's split, e.g. `imdb.unsup:20000`; labels unused)."""
    parts = []
    for part in str(spec).split("+"):
        kind, _, n = part.partition(":")
        bad_n = (not n.isdigit() or int(n) == 0 or kind == "unused") if n else kind in AUGMENTATIONS
        if (kind not in TRANSFER_SOURCES and not foreign_split(kind)) or bad_n:
            raise KdsuiteError(f"transfer {spec!r}: expected unsup[:N], unused, tang:N, eda:N or DATASET.SPLIT[:N], "
                               "joined by '+'")
        parts.append((kind, int(n) if n else None))
    if len({k for k, _ in parts}) != len(parts):
        raise KdsuiteError(f"transfer {spec!r}: a source is named twice")
    return parts


TRAIN_DEFAULTS = asdict(TrainConfig())
KD_ONLY = ("loss", "temperature", "alpha")  # options a scratch cell does not use
# per-dataset options: how the data is carved and read (seq_len: tokens per text; transfer: extra KD text)
DATA_DEFAULTS = {"val_size": 0.1, "data_seed": 0, "train_fraction": None, "max_train": None, "seq_len": None,
                 "transfer": ""}


def rewrite_members(teacher: str, rewrite) -> str:
    """`teacher` (`A+B[...][@weights]`) with each member replaced by the members `rewrite(member)` returns."""
    spec, at, weights = teacher.partition("@")
    return "+".join(new for member in spec.split("+") for new in rewrite(member)) + at + weights


def scratch_members(teacher: str | None) -> list[tuple[str, int | None]]:
    """The `scratch:NAME[:SEED]` members of an ensemble teacher `A+B[...][@weights]`, as (NAME, SEED): in a suite,
    the suite's own scratch cells of student NAME (TensorFlow, the same data) join the ensemble, so students beaten
    by a scratch twin can learn from it. Without `:SEED` a member stands for every seed of the suite."""
    found = []

    def collect(member: str) -> list[str]:
        if member.startswith("scratch:"):
            name, _, seed = member.removeprefix("scratch:").partition(":")
            if not name or (seed and not seed.isdigit()):
                raise KdsuiteError(f"teacher {teacher!r}: member {member!r}: expected scratch:STUDENT[:SEED]")
            found.append((name, int(seed) if seed else None))
        return [member]

    rewrite_members(str(teacher or ""), collect)
    return found


def with_scratch_seeds(teacher: str, seeds) -> str:
    """`teacher` with each seedless `scratch:NAME` member written once per seed (`scratch:NAME:SEED`)."""
    def per_seed(member: str) -> list[str]:
        if not member.startswith("scratch:") or ":" in member.removeprefix("scratch:"):
            return [member]
        if "@" in teacher:
            raise KdsuiteError(f"teacher {teacher!r}: with weights, give each scratch member its seed "
                               f"(scratch:NAME:SEED)")
        return [f"{member}:{s}" for s in seeds]

    return rewrite_members(teacher, per_seed)


@dataclass(frozen=True)
class Cell:
    """One result of the grid: a model of some kind trained (or read) on a dataset view with a seed.

    `seed` moves weight initialisation and batch order; `data["data_seed"]` moves how validation/test are carved,
    how train is subsampled and how augmented transfer text is drawn, so every seed of a grid sees the same data.
    `train` and `data` hold only values that differ from the defaults, so the same cell has one spelling
    whether it comes from a suite file or from `kdsuite distill` flags.
    """

    dataset: str
    model: str  # tfidf-logreg | a teacher | a student
    kind: str  # baseline | teacher | scratch | kd | kd+transfer | nested
    seed: int = 0
    backend: str | None = None  # None: no Keras in this cell
    teacher: str | None = None  # a teacher name, "logits:FILE.npz", or "student:NAME" (that student's kd cell)
    train: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        train = {k: v for k, v in self.train.items() if TRAIN_DEFAULTS.get(k, object()) != v}
        if self.kind == "scratch":
            train = {k: v for k, v in train.items() if k not in KD_ONLY}
        data = {k: v for k, v in self.data.items() if DATA_DEFAULTS.get(k, object()) != v}
        object.__setattr__(self, "train", dict(sorted(train.items())))
        object.__setattr__(self, "data", dict(sorted(data.items())))

    @property
    def label(self) -> str:
        return " ".join(str(p) for p in (self.dataset, self.model, self.kind, self.backend or "-", f"seed {self.seed}"))

    @property
    def student(self) -> bool:
        return self.kind in STUDENT_KINDS

    def train_config(self) -> TrainConfig:
        options = dict(self.train) | ({"loss": "ce"} if self.kind == "scratch" else {})
        unknown = set(options) - set(TRAIN_DEFAULTS)
        if unknown:
            raise KdsuiteError(f"unknown training option {sorted(unknown)[0]!r} (known: {', '.join(TRAIN_DEFAULTS)})")
        if self.kind != "scratch" and options.get("loss") == "ce":
            raise KdsuiteError(f"a {self.kind} cell needs a KD loss, not 'ce' (use kind 'scratch' to train on labels)")
        return TrainConfig(**options).validate()

    def option(self, name: str):
        """A data option of this cell, its default when unset."""
        return self.data.get(name, DATA_DEFAULTS[name])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Cell":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
