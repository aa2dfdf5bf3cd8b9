"""The blog's student: a bag of embeddings. Embedding -> masked average pooling -> (hidden) -> logits.
At vocab 5000 and 16 dimensions it has ~80K parameters."""

import keras
from keras import layers, ops

from kdsuite.students import register_student


@keras.saving.register_keras_serializable(package="kdsuite")
class MaskedMean(layers.Layer):
    """Average of the unmasked time steps, [batch, steps, dim] -> [batch, dim].

    `GlobalAveragePooling1D` on a mask divides by the count of unmasked steps, so a row with none (a text whose
    standardisation leaves no token, e.g. `. . .`, is all padding ids) gives 0/0 = NaN and poisons the whole fit.
    This is the very same computation with the count floored at 1: such a row averages to zeros (its logits are
    the output bias), and every other row's result is bit-for-bit what `GlobalAveragePooling1D` gives. Saved
    students name it `kdsuite>MaskedMean`: import `kdsuite.students.mlp` before `keras.saving.load_model`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        mask = ops.cast(ops.expand_dims(mask, 2), "bool")
        inputs = ops.where(mask, inputs, 0)
        count = ops.sum(ops.cast(mask, inputs.dtype), axis=1)
        return ops.sum(inputs, axis=1) / ops.maximum(count, 1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@register_student(
    "mlp", family="mlp", description="bag of embeddings: Embedding -> average pooling -> Dense (blog default: 80K)",
    sizes={"mlp-xs": {"embed_dim": 2}, "mlp-s": {"embed_dim": 4}, "mlp-l": {"embed_dim": 64, "hidden": 64}},
)
def mlp(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16, hidden: int = 0,
        dropout: float = 0.0) -> keras.Model:
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(tokens)
    x = MaskedMean()(x)  # not GlobalAveragePooling1D: an all-padding row would be 0/0
    if hidden:
        x = layers.Dense(hidden, activation="relu")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name="mlp")
