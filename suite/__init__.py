"""kdsuite: distil fine-tuned transformer teachers into tiny Keras 3 students and rank them.

`import kdsuite` reaches everything: `kdsuite.students`, `kdsuite.teachers`, `kdsuite.engine`, ... and
`kdsuite.load_student(run_dir).predict(["text", ...])` to use a trained student."""

__version__ = "0.1.0"


def load_student(run_dir):
    """A trained student from its run folder; `.predict(texts)` gives label names and probabilities."""
    from kdsuite.engine.predict import load_student as load

    return load(run_dir)
