"""Charts shared by the RAPIDS notebooks: per-operation times by backend, and time and speedup against size."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


def times_chart(table: pd.DataFrame, title: str) -> Figure:
    """Horizontal bars of median seconds (log scale) per operation (rows) for each backend (columns)."""
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1.5))
    table.iloc[::-1].plot.barh(ax=ax, logx=True, width=0.8)
    ax.set_xlabel("median seconds (log scale)")
    ax.set_title(title)
    ax.legend(title=None)
    fig.tight_layout()
    return fig


def scaling_chart(
    rows: list[int], seconds: dict[str, list[float | None]], speedup: list[float | None] | None
) -> Figure:
    """Log-log time against rows for each backend, and the speedup against rows when it was measured."""
    measured = speedup is not None and any(s is not None for s in speedup)
    fig, axes = plt.subplots(1, 2 if measured else 1, figsize=(11 if measured else 6, 4), squeeze=False)
    ax = axes[0][0]
    for name, values in seconds.items():
        points = [(r, v) for r, v in zip(rows, values, strict=True) if v is not None]
        if points:
            ax.loglog(*zip(*points, strict=True), label=name)  # colour and marker from the style's cycle
    ax.set_xlabel("rows")
    ax.set_ylabel("pipeline seconds (median)")
    ax.legend()
    if measured:
        points = [(r, s) for r, s in zip(rows, speedup, strict=True) if s is not None]
        axes[0][1].loglog(*zip(*points, strict=True), marker="o", color="C2")
        axes[0][1].axhline(1.0, color="grey", lw=0.8)
        axes[0][1].set_xlabel("rows")
        axes[0][1].set_ylabel("speedup (pandas time / cuDF time)")
    fig.tight_layout()
    return fig
