"""The blog's bag of embeddings (Embedding(5000, 16) -> pooling -> logits, 80K weights) with a pooling that
also reads neighbouring words: the average and the maximum of the word vectors, and for each window width n the
maximum over the sums of n neighbouring word vectors ("feel" + "blessed"), side by side. `mlp-pair` adds the
pairs (48 features), `mlp-tri` pairs and triples (64), `mlp-quad` runs of four as well (80). The window maxima
add no weight; they let words that each score little add up to a feature a single word does not reach, which a
plain bag cannot (word order enters only through which words are neighbours).

Padding (id 0) never takes part: a window counts only where all its words are real tokens, and a row with no
token (or no full window) pools to zeros instead of -inf. Self-contained on purpose: a result is keyed by its
student's own file."""

import keras
from keras import layers, ops

from kdsuite.students import register_student

_FILL = -1e9  # "no token here" in a maximum; finite, so a row with no token stays finite


def _masked_max(x, mask):
    """Per-dimension maximum over the steps where `mask` ([batch, steps, 1] bool) holds; zeros where none does."""
    return ops.where(ops.any(mask, axis=1), ops.max(ops.where(mask, x, _FILL), axis=1), 0)


@keras.saving.register_keras_serializable(package="kdsuite")
class NeighbourPool(layers.Layer):
    """[batch, steps, dim] -> [batch, (2 + len(widths)) * dim]: mean and max of the real tokens, then per width n the
    max over sums of n neighbouring real tokens."""

    def __init__(self, widths=(2,), **kwargs):
        super().__init__(**kwargs)
        self.widths = tuple(int(n) for n in widths)
        if not self.widths or min(self.widths) < 2:
            raise ValueError(f"NeighbourPool: window widths must be at least 2, got {widths!r}")
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        mask = ops.expand_dims(ops.cast(mask, "bool"), 2)  # [batch, steps, 1]
        count = ops.sum(ops.cast(mask, inputs.dtype), axis=1)
        pooled = [ops.sum(ops.where(mask, inputs, 0), axis=1) / ops.maximum(count, 1), _masked_max(inputs, mask)]
        for n in self.widths:
            steps = ops.shape(inputs)[1] - n + 1
            window, real = inputs[:, :steps], mask[:, :steps]
            for k in range(1, n):
                window = inputs[:, k:k + steps] + window
                real = ops.logical_and(mask[:, k:k + steps], real)
            pooled.append(_masked_max(window, real))
        return ops.concatenate(pooled, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], (2 + len(self.widths)) * input_shape[2])

    def get_config(self):
        return super().get_config() | {"widths": list(self.widths)}


def neighbour_bag(vocab_size: int, seq_len: int, num_classes: int, widths, embed_dim: int, name: str) -> keras.Model:
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(tokens)
    x = NeighbourPool(widths, name="pool")(x)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name=name)


@register_student("mlp-pair", family="mlp-pair",
                  description="bag of embeddings: Embedding -> masked mean, max and adjacent-pair max -> Dense (80K)")
def mlp_pair(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16) -> keras.Model:
    return neighbour_bag(vocab_size, seq_len, num_classes, (2,), embed_dim, "mlp_pair")


@register_student("mlp-tri", family="mlp-tri",
                  description="bag of embeddings: Embedding -> masked mean, max, pair and triple max -> Dense (80K)")
def mlp_tri(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16) -> keras.Model:
    return neighbour_bag(vocab_size, seq_len, num_classes, (2, 3), embed_dim, "mlp_tri")


@register_student("mlp-quad", family="mlp-quad",
                  description="bag of embeddings: Embedding -> masked mean, max, 2-, 3- and 4-word max -> Dense (80K)")
def mlp_quad(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16) -> keras.Model:
    return neighbour_bag(vocab_size, seq_len, num_classes, (2, 3, 4), embed_dim, "mlp_quad")
