"""What the latency estimator needs to know about a model, whoever produced it."""

from __future__ import annotations

from dataclasses import dataclass

PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class ModelStats:
    """Size and work of one model variant.

    ``macs`` counts multiply-accumulates per inference (one MAC = 2 FLOPs);
    ``weight_bytes`` is the size of the stored weights; ``precision`` is the arithmetic
    the model runs in (``"int8"`` only for a fully integer-quantized model);
    ``activation_bytes`` estimates the peak working memory for activations.
    """

    name: str
    macs: int
    params: int
    weight_bytes: int
    precision: str = "fp32"
    activation_bytes: int = 0
    file_bytes: int = 0

    def __post_init__(self) -> None:
        for field_name in ("macs", "params", "weight_bytes", "activation_bytes", "file_bytes"):
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{field_name} must be an integer >= 0; got {value!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")
