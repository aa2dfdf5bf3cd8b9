"""Pooling variants of the blog's bag of embeddings (`mlp`): Embedding -> masked pooling -> (hidden) -> logits,
at the blog's 80K budget (vocab 5000, 16 dimensions). Pooling is one of

- "max": the per-dimension maximum over the real tokens (`mlp-max`);
- "mean+max": average and maximum side by side, so the logits layer sees 32 features (`mlp-meanmax`);
- "attention": a learned score per token (a dot product with one 16-vector, zero at the start, so training
  starts from the average), softmax over the real tokens, weighted sum (`mlp-attn`);
- "mean": the average, the same math as `mlp`'s `MaskedMean` (the registered `mlp` stays in mlp.py, so its
  result keys do not move).

Padding (id 0) never takes part, and a row with no token at all pools to zeros (its logits are the output bias)
instead of -inf or NaN. This file is self-contained on purpose: a result is keyed by its student's own file."""

import keras
from keras import layers, ops

from kdsuite.students import register_student

POOLINGS = ("mean", "max", "mean+max", "attention")
_FILL = -1e9  # stands for "no token here" in a max or softmax; finite, so a row with no token stays finite


@keras.saving.register_keras_serializable(package="kdsuite")
class MaskedPool(layers.Layer):
    """Pool the unmasked time steps, [batch, steps, dim] -> [batch, dim] ([batch, 2 * dim] for "mean+max")."""

    def __init__(self, kind: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if kind not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {kind!r}")
        self.kind = kind
        self.supports_masking = True

    def build(self, input_shape):
        if self.kind == "attention":
            self.score = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="score")

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        mask = ops.expand_dims(ops.cast(mask, "bool"), 2)  # [batch, steps, 1]
        real = ops.cast(mask, inputs.dtype)
        pooled = []
        if self.kind in ("mean", "mean+max"):
            pooled.append(ops.sum(ops.where(mask, inputs, 0), axis=1) / ops.maximum(ops.sum(real, axis=1), 1))
        if self.kind in ("max", "mean+max"):
            top = ops.max(ops.where(mask, inputs, _FILL), axis=1)
            pooled.append(ops.where(ops.any(mask, axis=1), top, 0))  # no token: zeros, not the fill
        if self.kind == "attention":
            scores = ops.where(mask, ops.sum(inputs * self.score, axis=2, keepdims=True), _FILL)
            weights = ops.softmax(scores, axis=1) * real  # all zero on a row with no token
            pooled.append(ops.sum(weights * ops.where(mask, inputs, 0), axis=1))
        return pooled[0] if len(pooled) == 1 else ops.concatenate(pooled, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2] * (2 if self.kind == "mean+max" else 1))

    def get_config(self):
        return super().get_config() | {"kind": self.kind}


def bag(vocab_size: int, seq_len: int, num_classes: int, pooling: str = "max", embed_dim: int = 16,
        hidden: int = 0, dropout: float = 0.0, name: str = "bag") -> keras.Model:
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(tokens)
    x = MaskedPool(pooling, name="pool")(x)
    if hidden:
        x = layers.Dense(hidden, activation="relu")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name=name)


@register_student("mlp-max", family="mlp-max",
                  description="bag of embeddings: Embedding -> masked max pooling -> Dense (80K)")
def mlp_max(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16, hidden: int = 0,
            dropout: float = 0.0) -> keras.Model:
    return bag(vocab_size, seq_len, num_classes, "max", embed_dim, hidden, dropout, name="mlp_max")


@register_student("mlp-meanmax", family="mlp-meanmax",
                  description="bag of embeddings: Embedding -> masked mean and max pooling, concatenated -> Dense (80K)")
def mlp_meanmax(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16, hidden: int = 0,
                dropout: float = 0.0) -> keras.Model:
    return bag(vocab_size, seq_len, num_classes, "mean+max", embed_dim, hidden, dropout, name="mlp_meanmax")


@register_student("mlp-attn", family="mlp-attn",
                  description="bag of embeddings: Embedding -> attention pooling over real tokens -> Dense (80K)")
def mlp_attn(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16, hidden: int = 0,
             dropout: float = 0.0) -> keras.Model:
    return bag(vocab_size, seq_len, num_classes, "attention", embed_dim, hidden, dropout, name="mlp_attn")
