"""edgelab.zoo: published model figures with sources."""

import pytest

from edgelab import zoo


def test_every_reference_model_has_a_source_and_valid_stats() -> None:
    """Each entry builds a ModelStats and names where its numbers come from."""
    assert zoo.names()
    for name in zoo.names():
        stats = zoo.reference_model(name)
        assert stats.macs > 0 and stats.weight_bytes > 0
        assert "(" in zoo.source(name)


def test_int8_is_about_four_times_smaller() -> None:
    """The published int8 MobileNets are 3.5-4.5x smaller than float32, same work."""
    for family in ("mobilenet-v1-224", "mobilenet-v2-224"):
        fp32, int8 = zoo.reference_model(f"{family}-fp32"), zoo.reference_model(f"{family}-int8")
        assert fp32.macs == int8.macs
        assert 3.5 < fp32.weight_bytes / int8.weight_bytes < 4.5


def test_unknown_name_lists_known_ones() -> None:
    """An unknown name raises ValueError listing the known names."""
    with pytest.raises(ValueError, match="mobilenet-v1-224-fp32"):
        zoo.reference_model("resnet-1000")
