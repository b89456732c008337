"""Every notebook: executed with the smoke profile, checked for the collection-wide contract."""

from __future__ import annotations

import json

import nbformat
import pytest

from helpers.core.claims import VERDICTS, verdict_is_consistent

from .conftest import NOTEBOOKS_DIR, ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
STEMS = [p.stem for p in NOTEBOOKS]
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
        assert verdict_is_consistent(claim), f"claim {claim['id']}: verdict does not follow from its rule"
    json.dumps(smoke.results)
