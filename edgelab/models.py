"""The course's Keras models: built and trained here, deterministic under a seed.

* :func:`train_digits_cnn`: the task model of the quantization and pruning lessons, a
  small CNN on scikit-learn's 8x8 digits (about 43 k parameters); trains in a few seconds
  on 2 CPU cores to about 97 % test accuracy.
* :func:`train_vibration_model`: a tiny 1-D conv net for the synthetic vibration windows,
  the TinyML-sized case (a few thousand parameters).
* :func:`digits_model`: the digits CNN an earlier lesson saved (``digits.keras``), or trained
  now, so each lesson runs on its own.
* :func:`build_mobilenet_v2`: Keras' MobileNetV2 with **random weights** (``weights=None``;
  nothing is downloaded). Use it for size and speed only: its predictions mean nothing.
  It makes latency figures comparable with published MobileNet tables.

Trained models are kept in the user's cache (:mod:`edgelab.cache`), keyed by the seed, the
epochs, the source of this module and of the data, and the library versions: training is
deterministic, so a second run of a notebook loads the same weights instead of training again
(``cache=False`` trains regardless). Their log lines are silenced (:mod:`edgelab.quiet`).

TensorFlow and Keras are imported inside the functions (``import edgelab`` stays light).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from edgelab import cache as edgecache
from edgelab import datasets, quiet

MOBILENET_SIZES = (96, 128, 160)
MOBILENET_NOTE = ("MobileNetV2 with random weights (weights=None): for size and speed only, "
                  "its predictions mean nothing")


@dataclass
class TrainedModel:
    """A trained Keras model with its data split and how training went."""

    model: Any = field(repr=False)
    data: datasets.Split = field(repr=False)
    test_accuracy: float
    train_seconds: float  # how long training took (when it ran, also for a model from the cache)
    epochs: int
    seed: int
    history: dict = field(default_factory=dict, repr=False)
    from_cache: bool = False


def import_keras(seed: Optional[int] = None) -> Any:
    """Keras, with TensorFlow imported quietly (:func:`edgelab.quiet.import_tensorflow`); with
    ``seed``, the Python, numpy and TensorFlow generators are seeded."""
    quiet.import_tensorflow()
    with quiet.native_logs_silenced():
        import keras

        if seed is not None:
            keras.utils.set_random_seed(seed)
    return keras


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}; got {value!r}")
    return value


def build_digits_cnn(seed: int = 0) -> Any:
    """The digits CNN, untrained: two 3x3 convolutions, max-pooling, two dense layers.

    Outputs logits for the ten digits (softmax is left to the loss and to the reader)."""
    keras = import_keras(seed)
    layers = keras.layers
    with quiet.native_logs_silenced():  # the first TensorFlow op of a process logs from C++
        return keras.Sequential([
            keras.Input(datasets.DIGITS_SHAPE, name="image"),
            layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            layers.Conv2D(32, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(128, activation="relu", name="dense1"),
            layers.Dense(10, name="logits"),
        ], name="digits_cnn")


def build_vibration_model(window: int = 128, seed: int = 0) -> Any:
    """A tiny 1-D conv net for (window, 3) accelerometer windows; logits for normal/fault."""
    _check_int("window", window, 16, 4096)
    keras = import_keras(seed)
    layers = keras.layers
    with quiet.native_logs_silenced():
        return keras.Sequential([
            keras.Input((window, datasets.VIBRATION_AXES), name="window"),
            layers.Conv1D(8, 7, strides=2, activation="relu", name="conv1"),
            layers.Conv1D(16, 5, strides=2, activation="relu", name="conv2"),
            layers.GlobalAveragePooling1D(name="pool"),
            layers.Dense(2, name="logits"),
        ], name="vibration_net")


def build_mobilenet_v2(input_size: int = 96, alpha: float = 1.0, classes: int = 1000) -> Any:
    """Keras' MobileNetV2 at ``input_size`` px with random weights: for size and speed only.

    ``input_size`` is one of 96, 128 or 160 (sizes Keras has ImageNet weights for, so the
    architecture matches published models); ``alpha`` is the width multiplier.
    """
    if input_size not in MOBILENET_SIZES:
        raise ValueError(f"input_size must be one of {MOBILENET_SIZES}; got {input_size!r}")
    if alpha not in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
        raise ValueError(f"alpha must be one of 0.35, 0.5, 0.75, 1.0, 1.3, 1.4; got {alpha!r}")
    _check_int("classes", classes, 2, 100_000)
    keras = import_keras(0)
    with quiet.native_logs_silenced():
        return keras.applications.MobileNetV2(input_shape=(input_size, input_size, 3), alpha=alpha,
                                              weights=None, classes=classes,
                                              name=f"mobilenet_v2_{input_size}_random_weights")


class _EpochBar:
    """A tqdm bar advanced once per epoch, showing loss and accuracy."""

    def __init__(self, epochs: int, desc: str) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=epochs, desc=desc, unit="epoch")

    def callback(self) -> Any:
        keras = import_keras()
        bar = self.bar

        class Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
                logs = logs or {}
                bar.set_postfix(loss=f"{logs.get('loss', float('nan')):.3f}",
                                acc=f"{logs.get('accuracy', float('nan')):.3f}")
                bar.update(1)

            def on_train_end(self, logs: Optional[dict] = None) -> None:
                bar.close()

        return Callback()


def compile_classifier(model: Any, learning_rate: float = 3e-3, steps_per_execution: int = 1) -> Any:
    """Compile ``model`` (logits output) with Adam and sparse cross-entropy; return it."""
    keras = import_keras()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def fit(model: Any, data: datasets.Split, epochs: int, batch_size: int = 32, seed: int = 0,
        progress: bool = False, desc: str = "training") -> dict:
    """Train a compiled model on ``data`` for ``epochs``; optional tqdm bar. Returns the history."""
    import_keras(seed)
    callbacks = [_EpochBar(epochs, desc).callback()] if progress else []
    with quiet.native_logs_silenced():
        history = model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=batch_size, verbose=0,
                            shuffle=True, callbacks=callbacks)
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def keras_accuracy(model: Any, x: Any, y: Any) -> float:
    """Top-1 accuracy of a Keras classifier (logits or probabilities) on ``x``, ``y``."""
    import numpy as np

    with quiet.native_logs_silenced():
        logits = model.predict(x, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(y)))


TRAINING_CODE = ("models", "datasets", "synthetic")  # the modules that determine trained weights


def _trained(name: str, data: datasets.Split, seed: int, epochs: int, train: Callable[[], Any],
             use_cache: bool, **params: Any) -> TrainedModel:
    """``train()`` (returns the compiled, trained model and its history), or the same model from
    the user's cache. The key holds everything that determines the weights."""
    code = edgecache.source_hash(*TRAINING_CODE)
    entry = edgecache.key("trained", model=name, seed=seed, epochs=epochs, code=code, **params)
    if use_cache:
        import_keras(seed)  # seeded as if it had trained now
        with quiet.native_logs_silenced():
            found = edgecache.load_keras("trained", entry)
        if found is not None:
            model, meta = found
            try:
                history = dict(meta["history"], source="from your cache: trained earlier with the same "
                                                       "seed, epochs and code")
                return TrainedModel(model, data, float(meta["test_accuracy"]), float(meta["train_seconds"]),
                                    epochs, seed, history, from_cache=True)
            except (KeyError, TypeError, ValueError):  # metadata of another shape: train again
                pass
    start = time.perf_counter()
    model, history = train()
    seconds = time.perf_counter() - start
    accuracy = keras_accuracy(model, data.x_test, data.y_test)
    if use_cache:
        with quiet.native_logs_silenced():
            edgecache.store_keras("trained", entry, model, {"history": history, "test_accuracy": accuracy,
                                                        "train_seconds": seconds})
    return TrainedModel(model, data, accuracy, seconds, epochs, seed, dict(history, source="trained now"))


def train_digits_cnn(seed: int = 0, epochs: int = 10, progress: bool = False,
                     cache: bool = True) -> TrainedModel:
    """Train the digits CNN (batch 32, Adam 3e-3): same seed, same weights, same accuracy.

    With the defaults it reaches about 97 % test accuracy in a few seconds on 2 CPU cores.
    A model trained before with the same seed, epochs and code is loaded from the user's cache
    (``cache=False``: train regardless).
    """
    _check_int("seed", seed, 0, 2**31 - 1)
    _check_int("epochs", epochs, 1, 500)
    data = datasets.load_digits(seed=seed)

    def train() -> Any:
        model = build_digits_cnn(seed)
        # One epoch per execution (45 steps of 32) cuts Python overhead without changing the maths.
        compile_classifier(model, 3e-3, steps_per_execution=45)
        return model, fit(model, data, epochs, 32, seed, progress, "digits CNN")

    return _trained("digits_cnn", data, seed, epochs, train, cache)


def train_vibration_model(seed: int = 0, epochs: int = 15, window: int = 128,
                          progress: bool = False, cache: bool = True) -> TrainedModel:
    """Train the tiny vibration model on synthetic windows (normal vs bearing fault); cached
    like :func:`train_digits_cnn`."""
    _check_int("seed", seed, 0, 2**31 - 1)
    _check_int("epochs", epochs, 1, 500)
    data = datasets.load_vibration(window=window, seed=seed)

    def train() -> Any:
        model = build_vibration_model(window, seed)
        compile_classifier(model, 5e-3, steps_per_execution=10)
        return model, fit(model, data, epochs, 32, seed, progress, "vibration model")

    return _trained("vibration_net", data, seed, epochs, train, cache, window=window)


# the digits model a lesson saved, here or in lesson 05's folder (nbgrader grades a lesson in a copy)
DIGITS_FILES = ("digits.keras", "../05-cloud-to-edge/digits.keras")


def digits_model(search: Sequence[Union[str, os.PathLike]] = DIGITS_FILES, seed: int = 0,
                 epochs: int = 10) -> Any:
    """The trained digits CNN as a :class:`TrainedModel`.

    Loads the first file of ``search`` that exists and holds a digits model (8x8x1 input, ten
    outputs); otherwise trains one with :func:`train_digits_cnn` (``seed``,
    ``epochs``; from the user's cache if it was trained before). The data split is always
    ``datasets.load_digits(seed)``. ``train_seconds`` is 0 for a loaded file; ``history`` says
    where the model came from (``{"source": ...}``).
    """
    seed = _check_int("seed", seed, 0, 2**31 - 1)
    epochs = _check_int("epochs", epochs, 1, 500)
    if isinstance(search, (str, os.PathLike)):
        raise ValueError("search must be a sequence of paths, e.g. ('digits.keras',); got a single path")
    for candidate in search:
        path = Path(os.fspath(candidate))
        if not path.is_file():
            continue
        keras = import_keras()
        try:
            with quiet.native_logs_silenced():
                model = keras.models.load_model(path)
        except Exception:  # a damaged or foreign file: train instead
            continue
        if tuple(model.inputs[0].shape[1:]) != datasets.DIGITS_SHAPE or model.outputs[0].shape[-1] != 10:
            continue
        data = datasets.load_digits(seed=seed)
        accuracy = keras_accuracy(model, data.x_test, data.y_test)
        return TrainedModel(model, data, accuracy, 0.0, 0, seed, {"source": str(path)})
    return train_digits_cnn(seed=seed, epochs=epochs)
