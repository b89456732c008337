"""Every notebook: executed with the smoke profile, checked for the collection-wide contract."""

from __future__ import annotations

import json

import nbformat
import pytest

from helpers.core.claims import VERDICTS

from .conftest import NOTEBOOKS_DIR, ROOT, expected_verdict

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
STEMS = [p.stem for p in NOTEBOOKS]
# Cells tagged "deterministic" print the same in every profile (parameter counts, block savings, …): the smoke
# execution that the suite makes anyway must reproduce their committed outputs, so no notebook runs twice.
DETERMINISTIC_TAG = "deterministic"
DETERMINISTIC = [
    (p.stem, cell.id)
    for p in NOTEBOOKS
    for cell in nbformat.read(p, as_version=4).cells
    if DETERMINISTIC_TAG in cell.metadata.get("tags", [])
]
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
    headings = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Verdict")]
    assert headings, "the notebook must close with a '## Verdict' section computed from its measurements"
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "run `make notebooks` to store outputs"
    )


@pytest.mark.parametrize("stem", STEMS)
def test_smoke_run_records_results_and_consistent_claims(stem, smoke_run):
    smoke = smoke_run(stem)
    assert smoke.results["params.profile"] == "smoke"
    assert (smoke.out_dir / f"{stem}.ipynb").exists()
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


def _text_outputs(cell: nbformat.NotebookNode) -> list[str]:
    """A cell's printed text and text results, trailing spaces dropped (images and HTML are not compared)."""
    texts = []
    for output in cell.get("outputs", []):
        text = (
            output.get("text") if output.output_type == "stream" else output.get("data", {}).get("text/plain")
        )
        if text:
            texts.append("\n".join(line.rstrip() for line in text.splitlines()))
    return texts


def test_the_collection_checks_deterministic_outputs():
    assert len(DETERMINISTIC) >= 5, "tag at least five cells 'deterministic' across the collection"


@pytest.mark.parametrize(("stem", "cell_id"), DETERMINISTIC)
def test_deterministic_cell_reproduces_its_committed_output(stem, cell_id, smoke_run):
    committed = {c.id: c for c in nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4).cells}
    executed = {c.id: c for c in nbformat.read(smoke_run(stem).out_dir / f"{stem}.ipynb", as_version=4).cells}
    assert cell_id in executed, f"cell {cell_id} of {stem} is missing from the executed notebook"
    assert _text_outputs(committed[cell_id]), (
        f"cell {cell_id} of {stem} has no committed text output to compare"
    )
    assert _text_outputs(executed[cell_id]) == _text_outputs(committed[cell_id]), (
        f"cell {cell_id} of {stem} printed something other than its committed output"
    )
