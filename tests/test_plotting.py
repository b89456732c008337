"""helpers.core.plotting: the shared style applies and figures land beside the results when headless."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers.core import results  # noqa: E402
from helpers.core.plotting import save_figure, use_style  # noqa: E402


def test_style_and_headless_save(tmp_path, monkeypatch):
    monkeypatch.setenv(results.OUT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(results.NOTEBOOK_ENV, "99_demo")
    use_style()
    assert plt.rcParams["axes.grid"] is True
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    path = save_figure(fig, "speedup-bars")
    assert path == tmp_path / "99_demo.speedup-bars.png" and path.stat().st_size > 1000
    plt.close(fig)


def test_interactive_save_returns_none_and_bad_names_fail(monkeypatch):
    monkeypatch.delenv(results.OUT_DIR_ENV, raising=False)
    fig = plt.figure()
    assert save_figure(fig, "ok_name") is None
    with pytest.raises(ValueError, match="letters, digits"):
        save_figure(fig, "../escape")
    plt.close(fig)
