"""The blog's bag of embeddings (Embedding(5000, 16) -> pooling -> logits, 80K weights) with a pooling that
also reads adjacent word pairs: the average and the maximum of the word vectors, and the maximum over the sums
of each two neighbouring word vectors ("feel" + "blessed"), side by side (48 features). The pair maximum adds
no weight; it lets two words that each score little add up to a feature a single word does not reach, which a
plain bag cannot (word order enters only through which words are neighbours).

Padding (id 0) never takes part: a pair counts only where both words are real tokens, and a row with no token
(or no pair) pools to zeros instead of -inf. Self-contained on purpose: a result is keyed by its student's own
file."""

import keras
from keras import layers, ops

from kdsuite.students import register_student

_FILL = -1e9  # "no token here" in a maximum; finite, so a row with no token stays finite


def _masked_max(x, mask):
    """Per-dimension maximum over the steps where `mask` ([batch, steps, 1] bool) holds; zeros where none does."""
    return ops.where(ops.any(mask, axis=1), ops.max(ops.where(mask, x, _FILL), axis=1), 0)


@keras.saving.register_keras_serializable(package="kdsuite")
class PairPool(layers.Layer):
    """[batch, steps, dim] -> [batch, 3 * dim]: mean, max and max over adjacent-pair sums of the real tokens."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        mask = ops.expand_dims(ops.cast(mask, "bool"), 2)  # [batch, steps, 1]
        count = ops.sum(ops.cast(mask, inputs.dtype), axis=1)
        mean = ops.sum(ops.where(mask, inputs, 0), axis=1) / ops.maximum(count, 1)
        pairs = ops.logical_and(mask[:, 1:], mask[:, :-1])
        pair_max = _masked_max(inputs[:, 1:] + inputs[:, :-1], pairs)
        return ops.concatenate([mean, _masked_max(inputs, mask), pair_max], axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 3 * input_shape[2])


@register_student("mlp-pair", family="mlp-pair",
                  description="bag of embeddings: Embedding -> masked mean, max and adjacent-pair max -> Dense (80K)")
def mlp_pair(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16) -> keras.Model:
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(tokens)
    x = PairPool(name="pool")(x)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name="mlp_pair")
