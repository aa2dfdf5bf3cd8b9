"""The student catalogue. Each module here registers Keras 3 model builders with `@register_student`;
a builder is `(vocab_size, seq_len, num_classes, **size) -> keras.Model` taking int token ids [batch,
seq_len] and returning logits [batch, num_classes]. Nothing outside this package names a student family."""

from __future__ import annotations

from kdsuite.registry import Registry

STUDENTS: Registry = Registry("student", "kdsuite.students")
register_student = STUDENTS.register


def build_student(name: str, vocab_size: int, seq_len: int, num_classes: int):
    """Build the registered (or `module:Name` / `file.py:Name`) student."""
    from kdsuite.errors import KdsuiteError

    entry = STUDENTS.get(name)
    try:
        model = entry.target(vocab_size, seq_len, num_classes, **entry.defaults)
    except Exception as exc:
        raise KdsuiteError(f"student {name!r}: builder failed ({type(exc).__name__}: {exc})") from None
    shape = tuple(model.output_shape) if hasattr(model, "output_shape") else None
    if shape is None or shape[-1] != num_classes:
        raise KdsuiteError(f"student {name!r}: output shape {shape} is not (batch, {num_classes}) logits")
    return model, entry


def count_params(name: str, vocab_size: int = 5000, seq_len: int = 64, num_classes: int = 6) -> int:
    return int(build_student(name, vocab_size, seq_len, num_classes)[0].count_params())


def load_saved(path):
    """A saved student (`.keras`). Every student module is imported first, so custom layers (the MLP's
    `MaskedMean`) are registered with Keras before the file names them."""
    import keras

    STUDENTS.names()
    return keras.saving.load_model(path)
