"""Every notebook: executed with the smoke profile, checked for the collection-wide contract."""

from __future__ import annotations

import json

import nbformat
import pytest

from helpers.core.claims import VERDICTS

from .conftest import expected_verdict
from .notebook_runs import NOTEBOOKS_DIR, ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
STEMS = [p.stem for p in NOTEBOOKS]
# Cells whose output is the same in every profile and on every machine (parameter counts, formulas, published
# tables, hand-computed checks) say so with nbval's marker; nbval compares them with their committed outputs.
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
CHECKED = [
    (p.stem, index)
    for p in NOTEBOOKS
    for index, cell in enumerate(nbformat.read(p, as_version=4).cells)
    if cell.cell_type == "code" and CHECK_MARKER in cell.source.splitlines()
]
MIN_CHECKED = 16
CLAIM_FIELDS = {"id", "notebook", "source", "statement", "published", "measured", "unit", "verdict", "reason"}


def test_collection_is_not_empty():
    assert "00_environment_check" in STEMS


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_has_its_own_test_module(stem):
    module = ROOT / "tests" / f"test_nb{stem[:2]}_{stem[3:]}.py"
    assert module.exists(), (
        f"{stem} has no test: add {module.relative_to(ROOT)} with assertions on its results"
    )


@pytest.mark.parametrize("stem", STEMS)
def test_committed_notebook_is_clean_and_parameterised(stem):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters' for papermill"
    assert "profile" in tagged[0].source
    assert "papermill" not in nb.metadata, "run `make notebooks` (it cleans papermill metadata)"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors, "the committed notebook stores an error output"
    headings = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert headings[-1].startswith("## What we found"), (
        "the notebook must close with a 'What we found' section"
    )
    assert nb.cells[-1].cell_type == "code" and nb.cells[-1].source.startswith("what_we_found("), (
        "the last cell must render this run's findings with what_we_found(next_steps=[...])"
    )
    closing = [o for o in nb.cells[-1].get("outputs", []) if "text/markdown" in o.get("data", {})]
    assert closing, "the closing cell stores no findings; run `make notebooks`"
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "run `make notebooks` to store outputs"
    )


@pytest.mark.parametrize("stem", STEMS)
def test_smoke_run_records_results_and_consistent_claims(stem, smoke_run):
    smoke = smoke_run(stem)
    assert smoke.results["params.profile"] == "smoke"
    assert (smoke.out_dir / f"{stem}.results.json").exists()
    for claim in smoke.claims:
        assert CLAIM_FIELDS <= set(claim), f"claim {claim.get('id')} misses fields"
        assert claim["notebook"] == stem
        assert claim["verdict"] in VERDICTS
        assert claim["verdict"] == expected_verdict(claim), (
            f"claim {claim['id']}: verdict does not follow its rule"
        )
        if claim["measured"] is not None:
            assert f"{claim['measured']:.4g}" in claim["reason"], (
                f"claim {claim['id']}: reason omits the measurement"
            )
        else:
            assert claim["reason"], f"claim {claim['id']}: 'not measurable here' needs a reason"
    json.dumps(smoke.results)


@pytest.mark.parametrize("stem", STEMS)
def test_every_figure_of_the_smoke_run_passes_the_layout_check(stem, smoke_run):
    # save_figure checks each figure as it saves it (helpers.core.plotting.layout_problems): overlapping labels,
    # legends or annotations over data, look-alike series, text below WCAG contrast on a cell
    checked = {k: v for k, v in smoke_run(stem).results.items() if k.startswith("figures.")}
    problems = [f"{key.split('.')[1]}: {problem}" for key, found in checked.items() for problem in found]
    assert not problems, "\n".join(problems)


def test_the_collection_checks_cells_with_nbval():
    assert len(CHECKED) >= MIN_CHECKED, (
        f"{len(CHECKED)} cells carry {CHECK_MARKER!r}; the collection had {MIN_CHECKED}: mark the cells whose "
        "output is the same in every profile"
    )


@pytest.mark.parametrize(("stem", "index"), CHECKED)
def test_a_checked_cell_has_a_committed_text_output(stem, index):
    cell = nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4).cells[index]
    texts = [
        o for o in cell.get("outputs", []) if o.output_type == "stream" or "text/plain" in o.get("data", {})
    ]
    assert texts, f"cell {index} of {stem} is marked {CHECK_MARKER!r} but stores no text output to compare"
    assert cell.source.splitlines()[0] == CHECK_MARKER, f"put {CHECK_MARKER!r} on the first line of the cell"
