"""One plot style for the collection, and a figure saver that shows a figure inline and puts it beside the results."""

from __future__ import annotations

import base64
import io
from itertools import combinations
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers.core.results import notebook_stem, output_dir, record

STYLE = Path(__file__).with_name("fsl.mplstyle")
ALT_KEY = "Description"  # the PNG text chunk that carries a figure's alt text (read back by the report)


def use_style() -> None:
    """Apply the collection's matplotlib style (Okabe–Ito colours, one marker per series)."""
    plt.style.use(STYLE)


def figure_path(name: str) -> Path | None:
    """Where `save_figure(fig, name)` writes when run headless: `<out>/<notebook stem>.<name>.png` (else None)."""
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(
            f"Figure name {name!r} must be letters, digits, '-' or '_' (it becomes a file name)."
        )
    out = output_dir()
    return None if out is None else out / f"{notebook_stem()}.{name}.png"


def describe(fig: Figure) -> str:
    """Alt text for `fig` from what it shows: its title(s), each panel's axes and the series in its legend."""
    parts = []
    title = fig.get_suptitle()
    if title:
        parts.append(f"{title}.")
    for ax in fig.get_axes():
        if not ax.get_visible() or not (ax.has_data() or ax.get_title()):
            continue
        text = ax.get_title() or "Chart"
        axes = [label for label in (ax.get_xlabel(), ax.get_ylabel()) if label]
        if len(axes) == 2:
            text += f": {axes[1]} against {axes[0]}"
        elif axes:
            text += f": {axes[0]}"
        legend = ax.get_legend()
        if legend is not None:
            series = [t.get_text() for t in legend.get_texts() if t.get_text()]
            if series:
                text += f"; series: {', '.join(series)}"
        parts.append(text.rstrip(".") + ".")
    return " ".join(parts) or "Figure."


def save_figure(fig: Figure, name: str, alt: str | None = None) -> None:
    """Show `fig` inline with alt text and, headless, save it as `<out>/<notebook stem>.<name>.png`.

    The alt text (`alt`, else one built by `describe`) goes into the notebook output and the PNG. The figure is
    closed afterwards, so a following `plt.show()` does not draw it twice; nothing is returned, so no path ends
    up as a cell's output.
    """
    path = figure_path(name)
    alt = alt or describe(fig)
    _thin_markers(fig)
    record(f"figures.{name}.layout_problems", layout_problems(fig))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={ALT_KEY: alt})
    png = buffer.getvalue()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
    _display_png(png, alt)
    plt.close(fig)


def _shown(texts: list[Text]) -> list[Text]:
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def layout_problems(fig: Figure) -> list[str]:
    """What a reader would trip over, one sentence each: tick labels of one axis that overlap, a legend inside the
    axes that covers a data point or a bar, and labelled series that share colour, marker and line style."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    for index, ax in enumerate(fig.get_axes()):
        where = f"axes {ax.get_title()!r}" if ax.get_title() else f"axes {index}"
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _shown(axis.get_ticklabels())]
            for (a, box_a), (b, box_b) in combinations(boxes, 2):
                if box_a.overlaps(box_b):
                    problems.append(f"{where}: {name} tick labels {a!r} and {b!r} overlap")
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            box = legend.get_window_extent(renderer)
            covered = [
                "an unlabelled line" if line.get_label().startswith("_") else line.get_label()
                for line in ax.get_lines()
                if any(box.contains(x, y) for x, y in line.get_transform().transform(line.get_xydata()))
            ]
            covered += ["a bar"] * any(p.get_window_extent(renderer).overlaps(box) for p in ax.patches)
            problems += [f"{where}: the legend covers {c!r}" for c in covered]
        seen: dict[tuple, str] = {}
        for line in ax.get_lines():
            if line.get_label().startswith("_"):
                continue
            style = (to_rgb(line.get_color()), line.get_marker(), line.get_linestyle())
            if style in seen:
                problems.append(f"{where}: {line.get_label()!r} and {seen[style]!r} look the same")
            seen[style] = line.get_label()
    return problems


def _thin_markers(fig: Figure, most: int = 15) -> None:
    """Draw at most `most` markers on long lines (the style gives every series a marker to tell it apart)."""
    for ax in fig.get_axes():
        for line in ax.get_lines():
            points = len(line.get_xdata())
            if (
                points > most
                and line.get_marker() not in (None, "None", "", " ")
                and line.get_markevery() is None
            ):
                line.set_markevery(max(1, points // most))


def _display_png(png: bytes, alt: str) -> None:
    """Display a PNG with its alt text when running under IPython (a notebook kernel); do nothing otherwise."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None:
        return
    display(
        {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<Figure: {alt}>"},
        raw=True,
        metadata={"image/png": {"alt": alt}},
    )


def read_alt(path: Path) -> str:
    """The alt text stored in a PNG written by `save_figure` (its file stem when it has none)."""
    from PIL import Image

    with Image.open(path) as image:
        return getattr(image, "text", {}).get(ALT_KEY, path.stem)
