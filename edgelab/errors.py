"""The exceptions edgelab raises, so callers can catch one type per kind of problem."""

from __future__ import annotations


class EdgelabError(Exception):
    """Base class of every error edgelab raises on purpose."""


class ModelError(EdgelabError, ValueError):
    """A model file cannot be used: missing, empty, truncated, not TFLite, or too new
    for the runtime that is installed. The message says what is wrong and what to do."""


class RuntimeMissingError(EdgelabError, ImportError):
    """No usable TFLite interpreter (LiteRT, tflite-runtime or TensorFlow) is installed."""


class DeployError(EdgelabError, RuntimeError):
    """A deployment to a device failed: the message names the device, the stage that failed,
    and which release it serves now."""


class ConversionError(EdgelabError, ValueError):
    """A Keras model could not be converted to TFLite; the message says which variant and why."""
