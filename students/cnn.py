"""Kim (2014)-style CNN: embedding -> parallel Conv1D of several widths -> global max pooling -> dropout
-> logits."""

import keras
from keras import layers

from kdsuite.students import register_student


@register_student(
    "cnn", family="cnn", description="Kim-style CNN: Conv1D widths 3/4/5, global max pooling",
    sizes={"cnn-s": {"embed_dim": 16, "filters": 32}, "cnn-l": {"embed_dim": 256, "filters": 128}},
)
def cnn(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 64, filters: int = 100,
        widths: tuple[int, ...] = (3, 4, 5), dropout: float = 0.5) -> keras.Model:
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim)(tokens)
    pooled = [layers.GlobalMaxPooling1D()(layers.Conv1D(filters, w, padding="same", activation="relu")(x))
              for w in widths]
    x = layers.Concatenate()(pooled) if len(pooled) > 1 else pooled[0]
    x = layers.Dropout(dropout)(x)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name="cnn")
