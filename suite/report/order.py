"""The order rows take in every report table: the teacher first, then by name and kind, TensorFlow first."""

BACKEND_ORDER = {"tensorflow": 0, "jax": 1, "torch": 2, None: -1}


def row_order(key: tuple) -> tuple:
    """Sort key of a (model, kind, backend) row."""
    model, kind, backend = key
    return kind != "teacher", model, kind, BACKEND_ORDER.get(backend, 9)
