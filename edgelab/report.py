"""A learner's summary of a model's variants: size, accuracy and latency, as a table and a figure.

Latency is *measured* here with :mod:`edgelab.bench` (LiteRT on this machine), not
estimated. On x86, int8 is not always faster than float32 (XNNPACK's int8 path depends on
the build): read the numbers, do not assume them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from edgelab import bench


def compare_variants(variants: Mapping[str, Any], x: Optional[np.ndarray] = None,
                     y: Optional[np.ndarray] = None, runs: int = 200, warmup_runs: int = 20,
                     num_threads: Optional[int] = 1, progress: bool = False) -> List[Dict[str, Any]]:
    """One row per variant: size, size vs the first variant, accuracy (if ``x``, ``y``), p50/p90 ms.

    ``variants`` maps a label to a :class:`~edgelab.convert.ConvertedModel` (e.g. the result
    of :func:`edgelab.convert.convert_all`). Rows also hold the full benchmark report.
    """
    if not variants:
        raise ValueError("variants is empty: pass at least one converted model")
    if (x is None) != (y is None):
        raise ValueError("pass both x and y (test inputs and labels) to report accuracy, or neither")
    rows = []
    base_size = None
    items = list(variants.items())
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="benchmarking variants", unit="variant")
    for label, model in items:
        accuracy = model.evaluate(x, y) if x is not None else None
        loaded = model.interpreter(num_threads=num_threads)
        report = bench.run_benchmark(loaded.interpreter, model_name=f"{model.name} ({label})",
                                     model_bytes=model.data, warmup_runs=warmup_runs, runs=runs,
                                     num_threads=num_threads, accuracy=accuracy,
                                     backend=loaded.backend.name, backend_version=loaded.backend.version)
        base_size = base_size or model.size_bytes
        rows.append({"variant": label, "size_bytes": model.size_bytes,
                     "size_ratio": model.size_bytes / base_size, "accuracy": accuracy,
                     "p50_ms": report["latency_ms"]["p50"], "p90_ms": report["latency_ms"]["p90"],
                     "report": report})
    return rows


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as aligned text: variant, size, size ratio, accuracy, p50 and p90 latency."""
    header = ("variant", "size (bytes)", "x first", "accuracy", "p50 ms", "p90 ms")
    lines = ["{:<10} {:>13} {:>8} {:>9} {:>9} {:>9}".format(*header)]
    for r in rows:
        acc = "-" if r.get("accuracy") is None else f"{r['accuracy']:.2%}"
        lines.append(f"{r['variant']:<10} {r['size_bytes']:>13,} {r['size_ratio']:>8.2f} {acc:>9} "
                     f"{r['p50_ms']:>9.4f} {r['p90_ms']:>9.4f}")
    return "\n".join(lines)


def plot(rows: Sequence[Mapping[str, Any]], title: str = "model variants") -> Any:
    """A matplotlib figure with three bar charts: size (KB), accuracy (%), p50 latency (ms)."""
    import sys

    import matplotlib

    if "ipykernel" not in sys.modules:  # scripts and tests: draw off-screen
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["variant"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    axes[0].bar(labels, [r["size_bytes"] / 1024 for r in rows], color="tab:blue")
    axes[0].set_ylabel("size (KB)")
    accs = [np.nan if r.get("accuracy") is None else 100 * r["accuracy"] for r in rows]
    axes[1].bar(labels, accs, color="tab:green")
    axes[1].set_ylabel("accuracy (%)")
    finite = [a for a in accs if np.isfinite(a)]
    if finite:
        axes[1].set_ylim(max(0.0, min(finite) - 5), 100)
    axes[2].bar(labels, [r["p50_ms"] for r in rows], color="tab:orange")
    axes[2].set_ylabel("p50 latency (ms, measured here)")
    for ax in axes:
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
