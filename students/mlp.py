"""The blog's student: a bag of embeddings. Embedding -> masked average pooling -> (hidden) -> logits.
At vocab 5000 and 16 dimensions it has ~80K parameters."""

import keras
from keras import layers

from students import register_student


@register_student(
    "mlp", family="mlp", description="bag of embeddings: Embedding -> average pooling -> Dense (blog default: 80K)",
    sizes={"mlp-xs": {"embed_dim": 2}, "mlp-s": {"embed_dim": 4}, "mlp-l": {"embed_dim": 64, "hidden": 64}},
)
def mlp(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 16, hidden: int = 0,
        dropout: float = 0.0) -> keras.Model:
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(tokens)
    x = layers.GlobalAveragePooling1D()(x)
    if hidden:
        x = layers.Dense(hidden, activation="relu")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name="mlp")
