"""fastText (Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification"): the average of the word
embeddings and of hashed bigram embeddings -> one linear layer to the logits. The paper's bigram model reaches
94.6% on Amazon polarity (full train set, 10 dimensions, millions of buckets); here the tables are scaled to the
catalogue's budgets: `fasttext` ~90K parameters and `fasttext-l` ~1M at vocab 5000; `fasttext-w` keeps the paper's 10
dimensions and spends the budget on a wide bigram table instead (~960K at vocab 50000, which a dataset sets with
`vocab_size`), the shape that reads long reviews best; `fasttext-w3` adds a hashed trigram table (8 dimensions,
~980K at vocab 30000), the n-grams NBSVM teachers read.

N-grams are made inside the model with `keras.ops` from the same int ids every student takes: consecutive ids
a, b that are both real tokens (not padding, id 0) hash to ((a * 1000003 + b) mod buckets) + 1, computed without
int32 overflow, and a trigram chains the hash; 0 means "no n-gram" and is masked like padding. A row with no token pools to zeros, so its logits
are the output bias."""

import keras
from keras import layers, ops

from kdsuite.students import register_student

PRIME = 1_000_003


@keras.saving.register_keras_serializable(package="kdsuite")
class HashedNgrams(layers.Layer):
    """Token ids [batch, steps] -> n-gram ids [batch, steps - n + 1] in [0, buckets]; 0 where any id is padding.
    A bigram a b hashes to ((a * PRIME + b) mod buckets) + 1; a trigram chains it: h(h(a, b), c)."""

    def __init__(self, buckets: int, order: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.buckets, self.order = int(buckets), int(order)

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        steps = ops.shape(ids)[1] - self.order + 1
        hashed, real = ops.mod(ids[:, :steps], self.buckets), ids[:, :steps] > 0
        for k in range(1, self.order):
            # ((h mod B) * (PRIME mod B) + b) mod B == (h * PRIME + b) mod B, every term below 2**31 (see fasttext())
            nxt = ids[:, k:k + steps]
            hashed = ops.mod(hashed * (PRIME % self.buckets) + nxt, self.buckets)
            real = ops.logical_and(real, nxt > 0)
        return ops.where(real, hashed + 1, 0)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else max(steps - self.order + 1, 0))

    def get_config(self):
        return super().get_config() | {"buckets": self.buckets, "order": self.order}


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
    description="fastText (Joulin et al.): mean of word and hashed n-gram embeddings -> linear",
    sizes={"fasttext-l": {"embed_dim": 40, "buckets": 20_000}, "fasttext-w": {"embed_dim": 10, "buckets": 46_000},
           "fasttext-w3": {"embed_dim": 8, "buckets": 46_000, "trigram_buckets": 46_000}},
)
def fasttext(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 10,
             buckets: int = 4000, trigram_buckets: int = 0) -> keras.Model:
    for b in (buckets, trigram_buckets or 1):
        if b < 1 or b * b + vocab_size >= 2**31:
            raise ValueError(f"buckets must be in [1, {int((2**31 - vocab_size) ** 0.5)}] (int32 hashing), got {b}")
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    features = [layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="words")(tokens)]
    for name, order, size in (("bigrams", 2, buckets), ("trigrams", 3, trigram_buckets)):
        if size:
            features.append(layers.Embedding(size + 1, embed_dim, mask_zero=True, name=name)(
                HashedNgrams(size, order, name=f"hash_{name}")(tokens)))
    x = FeatureMean(name="mean")(features)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name="fasttext")
