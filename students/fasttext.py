"""fastText (Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification"): the average of the word
embeddings and of hashed bigram embeddings -> one linear layer to the logits. The paper's bigram model reaches
94.6% on Amazon polarity (full train set, 10 dimensions, millions of buckets); here the tables are scaled to the
catalogue's budgets (`fasttext` ~90K parameters, `fasttext-l` ~1M at vocab 5000).

Bigrams are made inside the model with `keras.ops` from the same int ids every student takes: consecutive ids
a, b that are both real tokens (not padding, id 0) hash to ((a * 1000003 + b) mod buckets) + 1, computed without
int32 overflow; 0 means "no bigram" and is masked like padding. A row with no token pools to zeros, so its logits
are the output bias."""

import keras
from keras import layers, ops

from kdsuite.students import register_student

PRIME = 1_000_003


@keras.saving.register_keras_serializable(package="kdsuite")
class HashedBigrams(layers.Layer):
    """Token ids [batch, steps] -> bigram ids [batch, steps - 1] in [0, buckets]; 0 where either id is padding."""

    def __init__(self, buckets: int, **kwargs):
        super().__init__(**kwargs)
        self.buckets = int(buckets)

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        first, second = ids[:, :-1], ids[:, 1:]
        # ((a mod B) * (PRIME mod B) + b) mod B == (a * PRIME + b) mod B, every term below 2**31 (see fasttext())
        hashed = ops.mod(ops.mod(first, self.buckets) * (PRIME % self.buckets) + second, self.buckets) + 1
        return ops.where(ops.logical_and(first > 0, second > 0), hashed, 0)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else max(steps - 1, 0))

    def get_config(self):
        return super().get_config() | {"buckets": self.buckets}


@keras.saving.register_keras_serializable(package="kdsuite")
class FeatureMean(layers.Layer):
    """The average of every unmasked step of several sequences ([batch, steps_i, dim] each) -> [batch, dim],
    dividing by at least one (a row with no feature averages to zeros)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        masks = mask if mask is not None else [None] * len(inputs)
        total, count = 0.0, 0.0
        for x, m in zip(inputs, masks):
            m = ops.ones(ops.shape(x)[:2], dtype="bool") if m is None else ops.cast(m, "bool")
            m = ops.expand_dims(m, 2)
            total = total + ops.sum(ops.where(m, x, 0), axis=1)
            count = count + ops.sum(ops.cast(m, x.dtype), axis=1)
        return total / ops.maximum(count, 1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][2])


@register_student(
    "fasttext", family="fasttext",
    description="fastText (Joulin et al.): mean of word and hashed-bigram embeddings -> linear",
    sizes={"fasttext-l": {"embed_dim": 40, "buckets": 20_000}},
)
def fasttext(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 10,
             buckets: int = 4000) -> keras.Model:
    if buckets < 1 or buckets * buckets + vocab_size >= 2**31:
        raise ValueError(f"buckets must be in [1, {int((2**31 - vocab_size) ** 0.5)}] (int32 hashing), got {buckets}")
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    words = layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="words")(tokens)
    bigrams = layers.Embedding(buckets + 1, embed_dim, mask_zero=True, name="bigrams")(
        HashedBigrams(buckets, name="hash_bigrams")(tokens))
    x = FeatureMean(name="mean")([words, bigrams])
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name="fasttext")
