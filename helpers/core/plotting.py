"""One plot style for the collection and a figure saver that puts figures beside the results."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.core.results import notebook_stem, output_dir

STYLE = Path(__file__).with_name("fsl.mplstyle")


def use_style() -> None:
    """Apply the collection's matplotlib style."""
    plt.style.use(STYLE)


def save_figure(fig: Figure, name: str) -> Path | None:
    """Save `fig` as `<out>/<notebook stem>.<name>.png` when run headless; return the path (None interactively)."""
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(
            f"Figure name {name!r} must be letters, digits, '-' or '_' (it becomes a file name)."
        )
    out = output_dir()
    if out is None:
        return None
    path = out / f"{notebook_stem()}.{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path
