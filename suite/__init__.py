"""kdsuite: distil fine-tuned transformer teachers into tiny Keras 3 students and rank them."""

__version__ = "0.1.0"
