"""The test suite's own scheduling under pytest-xdist (tests/conftest.py): which tests share a worker, and in what
order the work units are handed out."""

from __future__ import annotations

import pytest

from .conftest import NOTEBOOKS_DIR, ROOT, SLOWEST_FIRST, work_unit

UNITS = {  # test id: the work unit its worker runs it in
    "tests/test_nb03_hyperparameter_search.py::test_x": "notebook-03",
    "tests/test_notebooks.py::test_smoke_run_records_results[03_hyperparameter_search]": "notebook-03",
    "tests/test_notebooks.py::test_collection_is_not_empty": "tests/test_notebooks.py",
    "tests/test_claims.py::test_rules_compute_verdicts[rule0-1-x]": "tests/test_claims.py",
    "tests/test_claims.py::test_x[03_hyperparameter_search]": "tests/test_claims.py",
}


@pytest.mark.parametrize("nodeid", UNITS)
def test_each_notebooks_tests_form_one_work_unit_and_other_tests_group_by_file(nodeid):
    assert work_unit(nodeid) == UNITS[nodeid]


def test_every_unit_named_slowest_first_exists():
    notebooks = {f"notebook-{p.name[:2]}" for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")}
    files = {str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")}
    assert len(set(SLOWEST_FIRST)) == len(SLOWEST_FIRST)
    assert set(SLOWEST_FIRST) <= notebooks | files, "rename the unit in SLOWEST_FIRST too"
