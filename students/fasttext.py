"""fastText (Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification"): the average of the word
embeddings and of hashed bigram embeddings -> one linear layer to the logits. The paper's bigram model reaches
94.6% on Amazon polarity (full train set, 10 dimensions, millions of buckets); here the tables are scaled to the
catalogue's budgets: `fasttext` ~90K parameters and `fasttext-l` ~1M at vocab 5000; `fasttext-w` keeps the paper's 10
dimensions and spends the budget on a wide bigram table instead (~960K at vocab 50000, which a dataset sets with
`vocab_size`), the shape that reads long reviews best; `fasttext-w3` adds a hashed trigram table (8 dimensions,
~980K at vocab 30000), the n-grams NBSVM teachers read; `fasttext-xw` goes further, 2 dimensions and 430K bigram
buckets (~960K at vocab 50000), pooled by the square root of the count: for two classes a hashed linear model over
words and bigrams, the shape of the linear teachers (NBSVM, TF-IDF) it learns from.

N-grams are made inside the model with `keras.ops` from the same int ids every student takes: n consecutive
ids t_1..t_n that are all real tokens (not padding, id 0) hash to (sum_k (t_k * P_k mod B)) mod B + 1, with a
prime P_k < 2**15 per position, so every term stays below 2**31 for ids below 2**16 (vocabularies up to 65536) and
the ids are exact in int32 on every backend whatever the table size B; 0 means "no n-gram" and is masked like
padding. A row with no token pools to zeros, so its logits are the output bias."""

import keras
from keras import layers, ops

from kdsuite.students import register_student

PRIMES = (31_991, 30_011, 29_989)  # one per n-gram position, each below 2**15
MAX_VOCAB = 2**16
CHAIN_PRIME = 1_000_003


@keras.saving.register_keras_serializable(package="kdsuite")
class HashedNgrams(layers.Layer):
    """Token ids [batch, steps] -> n-gram ids [batch, steps - n + 1] in [0, buckets]; 0 where any id is padding.
    `scheme` "sum" (what the students build): (sum_k (t_k * PRIMES[k] mod B)) mod B + 1. "chain" is kept to
    load saved models that hash that way: h(a, b) = (a * CHAIN_PRIME + b) mod B, chained for a trigram, exact in
    int32 only for B up to 46340 (a saved layer without `scheme` is one of those)."""

    def __init__(self, buckets: int, order: int = 2, scheme: str = "chain", **kwargs):
        super().__init__(**kwargs)
        if scheme not in ("sum", "chain") or not 2 <= order <= len(PRIMES):
            raise ValueError(f"HashedNgrams: scheme 'sum' or 'chain', order 2..{len(PRIMES)}; got {scheme!r}, {order}")
        self.buckets, self.order, self.scheme = int(buckets), int(order), scheme

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        steps = ops.shape(ids)[1] - self.order + 1
        real = ids[:, :steps] > 0
        if self.scheme == "sum":
            hashed = ops.zeros_like(ids[:, :steps])
            for k in range(self.order):
                hashed = ops.mod(hashed + ops.mod(ids[:, k:k + steps] * PRIMES[k], self.buckets), self.buckets)
        else:
            hashed = ops.mod(ids[:, :steps], self.buckets)
            for k in range(1, self.order):  # ((h mod B) * (PRIME mod B) + b) mod B == (h * PRIME + b) mod B
                hashed = ops.mod(hashed * (CHAIN_PRIME % self.buckets) + ids[:, k:k + steps], self.buckets)
        for k in range(1, self.order):
            real = ops.logical_and(real, ids[:, k:k + steps] > 0)
        return ops.where(real, hashed + 1, 0)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else max(steps - self.order + 1, 0))

    def get_config(self):
        return super().get_config() | {"buckets": self.buckets, "order": self.order, "scheme": self.scheme}


@keras.saving.register_keras_serializable(package="kdsuite")
class FeatureMean(layers.Layer):
    """The sum of every unmasked step of several sequences ([batch, steps_i, dim] each) -> [batch, dim], divided
    by the number of steps (`norm` "count": the average, fastText's) or by its square root ("sqrt": evidence grows
    with a text's length, as in the L2-normalised n-gram counts of the linear teachers), and by at least one (a row
    with no feature pools to zeros)."""

    def __init__(self, norm: str = "count", **kwargs):
        super().__init__(**kwargs)
        if norm not in ("count", "sqrt"):
            raise ValueError(f"FeatureMean norm must be 'count' or 'sqrt', got {norm!r}")
        self.norm = norm
        self.supports_masking = True

    def call(self, inputs, mask=None):
        masks = mask if mask is not None else [None] * len(inputs)
        total, count = 0.0, 0.0
        for x, m in zip(inputs, masks):
            m = ops.ones(ops.shape(x)[:2], dtype="bool") if m is None else ops.cast(m, "bool")
            m = ops.expand_dims(m, 2)
            total = total + ops.sum(ops.where(m, x, 0), axis=1)
            count = count + ops.sum(ops.cast(m, x.dtype), axis=1)
        count = ops.maximum(count, 1)
        return total / (count if self.norm == "count" else ops.sqrt(count))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][2])

    def get_config(self):
        return super().get_config() | {"norm": self.norm}


@register_student(
    "fasttext", family="fasttext",
    description="fastText (Joulin et al.): mean of word and hashed n-gram embeddings -> linear",
    sizes={"fasttext-l": {"embed_dim": 40, "buckets": 20_000}, "fasttext-w": {"embed_dim": 10, "buckets": 46_000},
           "fasttext-w3": {"embed_dim": 8, "buckets": 46_000, "trigram_buckets": 46_000},
           "fasttext-xw": {"embed_dim": 2, "buckets": 430_000, "norm": "sqrt"}},
)
def fasttext(vocab_size: int, seq_len: int, num_classes: int, embed_dim: int = 10,
             buckets: int = 4000, trigram_buckets: int = 0, norm: str = "count") -> keras.Model:
    if not 1 <= vocab_size <= MAX_VOCAB:
        raise ValueError(f"fasttext hashes token ids below {MAX_VOCAB} (int32 n-gram ids): vocab_size {vocab_size}")
    if buckets < 1 or trigram_buckets < 0:
        raise ValueError(f"buckets must be >= 1 and trigram_buckets >= 0, got {buckets}, {trigram_buckets}")
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    features = [layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="words")(tokens)]
    for name, order, size in (("bigrams", 2, buckets), ("trigrams", 3, trigram_buckets)):
        if size:
            features.append(layers.Embedding(size + 1, embed_dim, mask_zero=True, name=name)(
                HashedNgrams(size, order, "sum", name=f"hash_{name}")(tokens)))
    x = FeatureMean(norm, name="mean")(features)
    return keras.Model(tokens, layers.Dense(num_classes, name="logits")(x), name="fasttext")
