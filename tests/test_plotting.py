"""helpers.core.plotting: the accessible style, alt text, and figures saved beside the results (never a path shown)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.core import results  # noqa: E402
from helpers.core.plotting import (  # noqa: E402
    contrast_ratio,
    describe,
    label_cells,
    layout_problems,
    read_alt,
    save_figure,
    use_style,
)

OKABE_ITO = ["#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000"]


def test_style_is_colour_blind_safe_and_tells_series_apart_by_marker():
    use_style()
    cycle = plt.rcParams["axes.prop_cycle"].by_key()
    assert [c.lower() for c in cycle["color"]] == OKABE_ITO
    assert len(set(cycle["marker"])) == len(cycle["color"])
    fig, ax = plt.subplots()
    first, second = ax.plot([1, 2], [3, 4])[0], ax.plot([1, 2], [4, 5])[0]
    assert first.get_marker() != second.get_marker()
    plt.close(fig)


def test_headless_save_writes_png_with_alt_text_and_returns_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(results.OUT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(results.NOTEBOOK_ENV, "99_demo")
    use_style()
    fig, ax = plt.subplots()
    ax.plot(range(100), range(100), label="pandas")
    ax.set(title="Speed-up", xlabel="rows", ylabel="seconds")
    ax.legend()
    assert save_figure(fig, "speedup-bars") is None
    path = tmp_path / "99_demo.speedup-bars.png"
    assert path.stat().st_size > 1000
    assert read_alt(path) == "Speed-up: seconds against rows; series: pandas."
    assert ax.get_lines()[0].get_markevery() is not None, "a 100-point line keeps only a few markers"
    assert not plt.fignum_exists(fig.number), (
        "the saved figure is closed so plt.show() does not draw it twice"
    )
    assert results.recorded()["figures.speedup-bars.layout_problems"] == [], (
        "the layout is checked when saved"
    )


def test_layout_problems_name_overlapping_ticks_a_legend_over_data_and_look_alike_series():
    use_style()
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar([f"a long category name {i}" for i in range(6)], range(6))
    ax.plot([0, 5], [5, 0], "o-", color="C0", label="first")
    ax.plot([0, 5], [4, 1], "o-", color="C0", label="second")
    ax.legend(loc="upper left")
    problems = layout_problems(fig)
    assert any(
        "x tick labels 'a long category name 0' and 'a long category name 1' overlap" in p for p in problems
    )
    assert any("the legend covers 'first'" in p for p in problems)
    assert any("'second' and 'first' share a colour and a marker" in p for p in problems)
    plt.close(fig)


def test_series_may_share_a_colour_or_a_marker_but_not_both():
    use_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], "o-", color="C0", label="first")
    ax.plot([0, 1], [1, 2], "s-", color="C0", label="same colour")
    ax.plot([0, 1], [2, 3], "o-", color="C1", label="same marker")
    ax.plot([0, 1], [3, 4], "o--", color="C1", label="only the line style differs")
    ax.axhline(5, color="k", label="no marker")
    ax.axhline(6, color="k", linestyle=":", label="no marker either")
    assert layout_problems(fig) == [
        "axes 0: 'only the line style differs' and 'same marker' share a colour and a marker",
        "axes 0: 'no marker either' and 'no marker' share a colour and a marker",
    ]
    plt.close(fig)


def test_tick_labels_outside_the_view_are_not_drawn_so_never_overlap():
    fig, (left, right) = plt.subplots(1, 2, figsize=(6, 2))
    left.plot([1, 12.5], [0.6931, 0.6933])
    right.plot([1, 12.5], [5.8, 6.0])
    fig.tight_layout()
    assert layout_problems(fig) == []
    plt.close(fig)


def test_annotations_over_each_other_or_a_point_and_panels_over_each_other_are_named():
    fig, (left, right) = plt.subplots(1, 2, figsize=(4, 2))
    left.plot([0, 1], [0, 1], "o", label="points")
    left.text(0, 0, "on a point")
    left.text(0.5, 0.5, "first note")
    left.text(0.5, 0.5, "second note")
    right.set_ylabel("a y label long enough to reach into the left panel\n" * 3)
    problems = layout_problems(fig)
    assert any("annotations 'first note' and 'second note' overlap" in p for p in problems)
    assert any("the annotation 'on a point' covers a point of 'points'" in p for p in problems)
    assert any("runs into the panel" in p for p in problems)
    plt.close(fig)


def test_text_on_heatmap_cells_must_reach_wcag_contrast():
    assert contrast_ratio("black", "white") == pytest.approx(21)
    assert contrast_ratio("white", "white") == pytest.approx(1)
    values = [[0.978, 0.980], [0.981, 0.983]]
    fig, ax = plt.subplots()
    image = ax.imshow(values, cmap="viridis")
    ax.text(1, 1, "white on yellow", ha="center", va="center", color="white")
    problems = layout_problems(fig)
    assert len(problems) == 1 and "'white on yellow' has contrast" in problems[0], problems
    plt.close(fig)
    fig, ax = plt.subplots()
    image = ax.imshow(values, cmap="viridis")
    label_cells(ax, image)
    assert [t.get_color() for t in ax.texts] == ["white", "white", "black", "black"]
    assert layout_problems(fig) == []
    plt.close(fig)
    fig, ax = plt.subplots()  # one cell: the colour bar widens its range, and the label must still read
    image = ax.imshow([[0.813]], cmap="viridis")
    label_cells(ax, image)
    fig.colorbar(image, ax=ax)
    assert layout_problems(fig) == []
    plt.close(fig)


def test_a_clean_figure_has_no_layout_problem():
    use_style()
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 2, 3], label="one")
    ax.plot([1, 2, 3], [3, 2, 1], label="two")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set(title="Clean", xlabel="x", ylabel="y")
    assert layout_problems(fig) == []
    plt.close(fig)


def test_alt_text_can_be_given_and_describes_untitled_figures():
    fig, ax = plt.subplots()
    assert describe(fig) == "Figure."
    ax.bar([1, 2], [3, 4])
    ax.set_xlabel("variant")
    assert describe(fig) == "Chart: variant."
    plt.close(fig)


def test_interactive_save_writes_nothing_and_bad_names_fail(tmp_path, monkeypatch):
    monkeypatch.delenv(results.OUT_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    fig = plt.figure()
    assert save_figure(fig, "ok_name", alt="an empty figure") is None
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="letters, digits"):
        save_figure(plt.figure(), "../escape")
