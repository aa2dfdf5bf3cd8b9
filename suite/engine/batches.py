"""Batches for fit and predict streamed from the memory-mapped token ids (`engine/tokens.py`), so a million-row
training set (and a transfer set beside it) is never copied into memory: `model.fit(x, y)` on arrays would first
turn them into one in-memory tensor (TensorFlow) and the transfer rows into a concatenated copy.

The rows of each batch are those Keras' own array pipeline would cut, in the same order (its index pipeline is
mirrored: a `tf.random.shuffle` permutation per epoch on TensorFlow, `np.random.permutation` on JAX and PyTorch,
as Keras' numpy iterator draws it), so a fit gives the results `model.fit` on the arrays gives; only the gather
differs: rows are read out of the files (`Rows`), so this process's resident memory stays bounded however large
the files are (the kernel's page cache keeps what it can)."""

from __future__ import annotations

import os

import numpy as np


class Rows:
    """Row-wise concatenation of arrays, gathered by row index; memory-mapped `.npy` arrays are read with `pread`
    (one call per row, or per run of consecutive rows), never through a map: the kernel maps file pages into the
    process around each touched row (a large folio at a time), so a shuffled epoch over a map would leave the whole
    file counted as this process's memory."""

    def __init__(self, arrays: list[np.ndarray]):
        self.parts = [(os.open(a.filename, os.O_RDONLY), a.offset, a) if isinstance(a, np.memmap) else
                      (None, 0, np.asarray(a)) for a in arrays]
        self.starts = np.cumsum([0] + [len(a) for a in arrays])
        first = arrays[0]
        self.shape, self.dtype = (int(self.starts[-1]),) + first.shape[1:], first.dtype
        self.row_bytes = first.dtype.itemsize * int(np.prod(first.shape[1:], dtype=np.int64))

    def __del__(self):
        for fd, _, _ in getattr(self, "parts", ()):
            if fd is not None:
                os.close(fd)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, part: int, idx: np.ndarray) -> np.ndarray:
        fd, offset, a = self.parts[part]
        if fd is None:
            return a[idx]
        size = self.row_bytes
        if len(idx) and idx[-1] - idx[0] + 1 == len(idx) and (np.diff(idx) == 1).all():  # in order: one read
            data = os.pread(fd, size * len(idx), offset + size * int(idx[0]))
        else:
            data = b"".join([os.pread(fd, size, offset + size * i) for i in idx.tolist()])
        return np.frombuffer(data, self.dtype).reshape((len(idx),) + self.shape[1:])

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        if len(self.parts) == 1:
            return self._read(0, idx)
        out = np.empty((len(idx),) + self.shape[1:], self.dtype)
        part = np.searchsorted(self.starts, idx, side="right") - 1
        for p in range(len(self.parts)):
            mask = part == p
            if mask.any():
                out[mask] = self._read(p, idx[mask] - self.starts[p])
        return out


def dataset(x: list[np.ndarray], y: dict[str, np.ndarray] | None, batch_size: int, shuffle: bool):
    """A `tf.data.Dataset` of (x, y) batches (x alone without `y`) over the rows of `x` (arrays concatenated
    row-wise, memory-mapped or not) and the in-memory target arrays `y`, cut as Keras cuts arrays."""
    import keras
    import tensorflow as tf

    rows = Rows(x)
    targets = {k: np.asarray(v) for k, v in (y or {}).items()}
    n = len(rows)
    num_full_batches, partial = n // batch_size, n % batch_size
    on_tf = keras.backend.backend() == "tensorflow"

    def permutation(_):  # as keras' ArrayDataAdapter.get_tf_dataset draws it, op for op (same seeds, same order)
        indices = tf.range(n, dtype=tf.int64)
        if shuffle:
            indices = tf.random.shuffle(indices)
        return indices

    def numpy_permutation(_):  # as keras' numpy iterator (JAX, PyTorch) draws it, once per epoch
        return tf.numpy_function(lambda: np.random.permutation(n).astype(np.int64), [], tf.int64, stateful=True)

    def slice_batch_indices(indices):
        first = tf.reshape(tf.slice(indices, [0], [num_full_batches * batch_size]), [num_full_batches, batch_size])
        batches = tf.data.Dataset.from_tensor_slices(first)
        if partial:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(
                tf.slice(indices, [num_full_batches * batch_size], [partial])))
        return batches

    names = list(targets)
    dtypes = [tf.as_dtype(rows.dtype)] + [tf.as_dtype(targets[k].dtype) for k in names]

    def gather(i):
        return tuple([rows[i]] + [targets[k][i] for k in names])

    def grab_batch(i):
        out = tf.numpy_function(gather, [i], dtypes, stateful=False)
        out[0].set_shape((None,) + rows.shape[1:])
        for t, k in zip(out[1:], names):
            t.set_shape((None,) + targets[k].shape[1:])
        return out[0] if y is None else (out[0], dict(zip(names, out[1:])))

    draw = permutation if on_tf or not shuffle else numpy_permutation
    indices = tf.data.Dataset.range(1).map(draw).prefetch(1).flat_map(slice_batch_indices)
    data = indices.map(grab_batch, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    if shuffle:
        options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE
    data = data.with_options(options)
    data = data.apply(tf.data.experimental.assert_cardinality(num_full_batches + (1 if partial else 0)))
    return data.prefetch(tf.data.AUTOTUNE)


def predict(model, ids: np.ndarray, batch_size: int) -> np.ndarray:
    """`model.predict` over memory-mapped `ids`, streamed in order."""
    return model.predict(dataset([ids], None, batch_size, shuffle=False), verbose=0)
