"""Tang et al. (2019)'s student: embedding -> bidirectional LSTM -> max pooling over time -> ReLU
hidden layer -> logits."""

import keras
from keras import layers

from kdsuite.students import register_student


@register_student(
    "bilstm", family="bilstm", description="Tang et al.: BiLSTM, max pooling, ReLU hidden layer",
    sizes={"bilstm-s": {"embed_dim": 16, "units": 16, "hidden": 32},
           "bilstm-l": {"embed_dim": 128, "units": 150, "hidden": 200}},
)
def bilstm(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 64, units: int = 64,
           hidden: int = 64, dropout: float = 0.2) -> keras.Model:
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim)(tokens)
    x = layers.Bidirectional(layers.LSTM(units, return_sequences=True))(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name="bilstm")
