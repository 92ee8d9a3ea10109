"""Published models as :class:`~edgelab.stats.ModelStats`, for estimates without a converted model.

The numbers live in ``data/reference_models.json``, each with its source. For a model you
converted yourself, use the converter's stats instead (they are measured from the file).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from edgelab.stats import ModelStats


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(resources.files("edgelab").joinpath("data/reference_models.json").read_text("utf-8"))


def names() -> list[str]:
    """The reference models, e.g. ``"mobilenet-v1-224-int8"``."""
    return list(_data()["models"])


def source(name: str) -> str:
    """Where the figures of ``name`` come from."""
    return _entry(name)["source"]


def _entry(name: str) -> dict:
    models = _data()["models"]
    if name not in models:
        raise ValueError(f"name must be one of {', '.join(models)}; got {name!r}")
    return models[name]


def reference_model(name: str) -> ModelStats:
    """The published stats of model ``name`` (see :func:`names`)."""
    entry = _entry(name)
    return ModelStats(name=name, macs=entry["macs"], params=entry["params"],
                      weight_bytes=entry["weight_bytes"], precision=entry["precision"],
                      activation_bytes=entry["activation_bytes"], file_bytes=entry["weight_bytes"])
