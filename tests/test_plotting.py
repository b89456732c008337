"""helpers.core.plotting: the accessible style, alt text, and figures saved beside the results (never a path shown)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.core import results  # noqa: E402
from helpers.core.plotting import describe, layout_problems, read_alt, save_figure, use_style  # noqa: E402

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
    assert any("'second' and 'first' look the same" in p for p in problems)
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
