"""helpers.collection.report: a self-contained report.html and the README blocks regenerated from a run."""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

from helpers.collection.cli import main  # noqa: E402
from helpers.collection.report import replace_block, update_readme_notebooks_and_claims, write_report  # noqa: E402
from helpers.core import results  # noqa: E402
from helpers.core.claims import Claim, at_least  # noqa: E402
from helpers.core.plotting import save_figure  # noqa: E402

RUNS = [{"stem": "01_good", "status": "ok", "seconds": 90.0, "error": ""}]


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """A finished one-notebook run: an executed notebook, its claims and one saved figure."""
    out = tmp_path / "run"
    monkeypatch.setenv(results.OUT_DIR_ENV, str(out))
    monkeypatch.setenv(results.NOTEBOOK_ENV, "01_good")
    fig, ax = plt.subplots()
    ax.plot([1, 2], [2, 4], label="cnn")
    ax.set(title="Accuracy", xlabel="epoch", ylabel="accuracy")
    ax.legend()
    save_figure(fig, "curve")
    entry = Claim("x.ratio", "a talk", "ratio is at least 2", 2, "x", at_least(2)).assess(1.5)
    monkeypatch.delenv(results.OUT_DIR_ENV)
    (out / "01_good.claims.json").write_text(json.dumps([entry]))
    cell = new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")])
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Good"), cell]), out / "01_good.ipynb")
    write_report(out, "cpu", RUNS)
    return out


def test_report_html_is_self_contained_with_claims_alt_text_and_notebook_pages(run_dir):
    page = (run_dir / "report.html").read_text()
    assert "<td>ratio is at least 2</td>" in page and "<strong>not reproduced</strong>" in page
    images = re.findall(r'<img src="([^"]+)" alt="([^"]+)"', page)
    assert len(images) == 1 and images[0][0].startswith("data:image/png;base64,")
    assert images[0][1] == "Accuracy: accuracy against epoch; series: cnn."
    assert 'href="01_good.html"' in page
    assert "<h1" in (run_dir / "01_good.html").read_text()
    assert (
        "![Accuracy: accuracy against epoch; series: cnn.](01_good.curve.png)"
        in (run_dir / "report.md").read_text()
    )


def _project(tmp_path, readme_text: str):
    (tmp_path / "README.md").write_text(readme_text)
    (tmp_path / "notebooks").mkdir()
    nb = new_notebook(cells=[new_markdown_cell("# Good")])
    nb.metadata["fsl"] = {"question": "Is the ratio at least 2?", "gpu": "optional"}
    nbformat.write(nb, tmp_path / "notebooks" / "01_good.ipynb")


GOOD_README = (
    "# T\n<!-- notebooks:start -->\n<!-- notebooks:end -->\n<!-- claims:start -->\n<!-- claims:end -->\n"
)


def test_readme_command_fills_the_index_with_the_run_times(run_dir, tmp_path, monkeypatch, capsys):
    _project(tmp_path, GOOD_README)
    monkeypatch.chdir(tmp_path)
    assert main(["readme", "--run", str(run_dir)]) == 0
    text = (tmp_path / "README.md").read_text()
    assert "| [01_good](notebooks/01_good.ipynb) | Is the ratio at least 2? | 1.5 min | optional |" in text
    assert "| 01_good | 1 |" in text and "[docs/claims.md](docs/claims.md)" in text, (
        "the README has the summary"
    )
    page = (tmp_path / "docs" / "claims.md").read_text()
    assert "| 01_good | ratio is at least 2 | 2 x | 1.5 x | **not reproduced** |" in page
    assert main(["readme", "--run", str(run_dir)]) == 0
    assert (tmp_path / "README.md").read_text() == text, "regenerating is idempotent"


@pytest.mark.parametrize(
    ("readme", "message"),
    [
        ("# T\n<!-- claims:start -->\n<!-- claims:end -->\n", "exactly one <!-- notebooks:start -->"),
        (
            "# T\n<!-- notebooks:end -->\n<!-- notebooks:start -->\n<!-- claims:start -->\n<!-- claims:end -->\n",
            "has <!-- notebooks:end --> before <!-- notebooks:start -->",
        ),
    ],
)
def test_readme_command_with_missing_or_reversed_markers_says_how_to_fix(
    run_dir, tmp_path, monkeypatch, capsys, readme, message
):
    _project(tmp_path, readme)
    monkeypatch.chdir(tmp_path)
    assert main(["readme", "--run", str(run_dir)]) == 2
    assert message in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == readme, "a failed refresh leaves the README as it was"


def test_readme_index_needs_each_notebooks_question(run_dir, tmp_path):
    _project(tmp_path, GOOD_README)
    nbformat.write(new_notebook(cells=[]), tmp_path / "notebooks" / "01_good.ipynb")
    with pytest.raises(ValueError, match=r"no metadata.fsl.question/gpu"):
        update_readme_notebooks_and_claims(tmp_path / "README.md", run_dir, tmp_path / "notebooks")


def test_replace_block_keeps_the_markers():
    assert (
        replace_block("a<!--s-->x<!--e-->b", "<!--s-->", "<!--e-->", "new") == "a<!--s-->\n\nnew\n\n<!--e-->b"
    )
