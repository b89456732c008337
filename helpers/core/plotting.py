"""One plot style for the collection, and a figure saver that shows a figure inline and puts it beside the results."""

from __future__ import annotations

import base64
import io
from itertools import combinations
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backend_bases import RendererBase
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.typing import ColorType

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


def _drawn_tick_labels(axis: Axis) -> list[Text]:
    """The major and minor tick labels of `axis` that are drawn: those of ticks inside the view limits."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * (high - low)
    labels = [
        label
        for locations, texts in (
            (axis.get_majorticklocs(), axis.get_majorticklabels()),
            (axis.get_minorticklocs(), axis.get_minorticklabels()),
        )
        for location, label in zip(locations, texts, strict=False)
        if low - slack <= location <= high + slack
    ]
    return _shown(labels)


def layout_problems(fig: Figure) -> list[str]:
    """What a reader would trip over, one sentence each: tick labels of one axis that overlap, labels of one panel
    over another panel, annotations over each other, the legend or a data point, a legend inside the axes that
    covers a data point or a bar, labelled series that share both a colour and a marker, and text on a cell or bar whose
    contrast is below WCAG's 4.5:1."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    for index, ax in enumerate(fig.get_axes()):
        where = f"axes {ax.get_title()!r}" if ax.get_title() else f"axes {index}"
        problems += [f"{where}: {problem}" for problem in _axes_problems(ax, renderer)]
    return problems + _panels_over_each_other(fig, renderer)


def _axes_problems(ax: Axes, renderer: RendererBase) -> list[str]:
    """The layout problems inside one axes (see `layout_problems`)."""
    problems = []
    for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _drawn_tick_labels(axis)]
        for (a, box_a), (b, box_b) in combinations(boxes, 2):
            if box_a.overlaps(box_b):
                problems.append(f"{name} tick labels {a!r} and {b!r} overlap")
    drawn = [(line, line.get_transform().transform(line.get_xydata())) for line in ax.get_lines()]
    points = [
        (line.get_label(), xy)
        for line, xy in drawn
        if line.get_visible() and line.get_marker() not in _NO_MARKER
    ]
    legend = ax.get_legend()
    legend_box = legend.get_window_extent(renderer) if legend is not None and legend.get_visible() else None
    if legend_box is not None:
        covered = [
            "an unlabelled line" if line.get_label().startswith("_") else line.get_label()
            for line, xy in drawn
            if any(legend_box.contains(x, y) for x, y in xy)
        ]
        covered += ["a bar"] * any(p.get_window_extent(renderer).overlaps(legend_box) for p in ax.patches)
        problems += [f"the legend covers {c!r}" for c in covered]
    notes = [(t.get_text(), t.get_window_extent(renderer)) for t in _shown(ax.texts)]
    for (a, box_a), (b, box_b) in combinations(notes, 2):
        if box_a.overlaps(box_b):
            problems.append(f"annotations {a!r} and {b!r} overlap")
    for text, box in notes:
        if legend_box is not None and box.overlaps(legend_box):
            problems.append(f"the legend covers the annotation {text!r}")
        problems += [
            f"the annotation {text!r} covers a point of {label!r}"
            for label, xy in points
            if any(box.contains(x, y) for x, y in xy)
        ]
    problems += _look_alike_series(ax)
    problems += _low_contrast_text(ax, renderer)
    return problems


_NO_MARKER = (None, "None", "", " ")


def _look_alike_series(ax: Axes) -> list[str]:
    """Labelled lines of `ax` that share both their colour and their marker with another labelled line (a line
    style alone is hard to tell apart, and colour alone fails colour-blind readers and grey print)."""
    labelled = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    return [
        f"{second.get_label()!r} and {first.get_label()!r} share a colour and a marker"
        for first, second in combinations(labelled, 2)
        if to_rgb(first.get_color()) == to_rgb(second.get_color()) and _marker(first) == _marker(second)
    ]


def _marker(line: Line2D) -> str:
    """A line's marker as drawn ('' for none)."""
    marker = line.get_marker()
    return "" if marker in _NO_MARKER else str(marker)


def contrast_ratio(foreground: ColorType, background: ColorType) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""

    def luminance(colour: ColorType) -> float:
        channels = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background: ColorType) -> str:
    """Black or white, whichever contrasts more with `background` (for labels written on cells or bars)."""
    return max(("black", "white"), key=lambda colour: contrast_ratio(colour, background))


def _widen_one_value(low: float, high: float, expander: float = 0.1) -> tuple[float, float]:
    """A colour range made non-singular the way a colour bar does it: a single value v becomes v ∓ 10 % of |v|
    (±0.1 around zero); a range with two values is returned as it is."""
    if high > low:
        return low, high
    if low == 0:
        return -expander, expander
    return low - expander * abs(low), high + expander * abs(high)


def label_cells(ax: Axes, image: AxesImage, fmt: str = "{:.3f}") -> None:
    """Write each cell's value on a heatmap drawn by `ax.imshow`, in black or white, whichever reads better."""
    image.autoscale_None()
    # widen a one-value colour range now, as a colour bar would later, so each label keeps the colour it was chosen for
    image.norm.vmin, image.norm.vmax = _widen_one_value(image.norm.vmin, image.norm.vmax)
    values = image.get_array()
    for (row, column), value in np.ndenumerate(np.ma.getdata(values)):
        background = image.cmap(image.norm(value))
        ax.text(
            column, row, fmt.format(value), ha="center", va="center", color=readable_text_colour(background)
        )


def _low_contrast_text(ax: Axes, renderer: RendererBase, least: float = 4.5) -> list[str]:
    """Annotations whose contrast with what lies under their centre (a heatmap cell, a bar or the axes) is below
    `least` (WCAG's level for normal text)."""
    problems = []
    for text in _shown(ax.texts):
        centre = text.get_window_extent(renderer).corners().mean(axis=0)
        ratio = contrast_ratio(text.get_color(), _colour_under(ax, centre, renderer))
        if ratio < least:
            problems.append(
                f"the annotation {text.get_text()!r} has contrast {ratio:.1f}:1 (below {least}:1)"
            )
    return problems


def _colour_under(ax: Axes, centre: np.ndarray, renderer: RendererBase) -> ColorType:
    """The colour drawn at display point `centre` of `ax`: the top image cell, bar or the axes' background."""
    x, y = centre
    for image in reversed(ax.images):
        if image.get_window_extent(renderer).contains(x, y):
            column, row = ax.transData.inverted().transform(centre)
            left, right, bottom, top = image.get_extent()
            values = image.get_array()
            rows, columns = values.shape[:2]
            i = int(np.clip((row - top) / (bottom - top) * rows, 0, rows - 1))
            j = int(np.clip((column - left) / (right - left) * columns, 0, columns - 1))
            return image.cmap(image.norm(values[i, j]))
    for patch in reversed(ax.patches):
        if patch.get_visible() and patch.get_fill() and patch.contains_point((x, y)):
            return patch.get_facecolor()
    return ax.get_facecolor()


def _panels_over_each_other(fig: Figure, renderer: RendererBase) -> list[str]:
    """Tick labels, axis labels and titles of one panel that run into another panel or its labels."""
    panels = [ax for ax in fig.get_axes() if ax.get_visible()]
    labels = {
        ax: [
            *_drawn_tick_labels(ax.xaxis),
            *_drawn_tick_labels(ax.yaxis),
            *_shown([ax.xaxis.label, ax.yaxis.label, ax.title]),
        ]
        for ax in panels
    }
    problems = []
    for first, second in combinations(panels, 2):
        if first.bbox.overlaps(second.bbox):  # twin axes or an inset share their place on purpose
            continue
        for mine, other in ((first, second), (second, first)):
            other_boxes = [other.bbox] + [t.get_window_extent(renderer) for t in labels[other]]
            problems += [
                f"{text.get_text()!r} runs into the panel {other.get_title() or fig.get_axes().index(other)!r}"
                for text in labels[mine]
                if any(text.get_window_extent(renderer).overlaps(box) for box in other_boxes)
            ]
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
