"""Shared fixtures: each notebook is executed once per session with the smoke profile, through the runner."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.collection.runner import NotebookRun, execute_notebook
from helpers.core.results import STORE_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
SMOKE_TIMEOUT_S = 600
# The shared compression results row (helpers.compression.measure.record_variant) that notebooks 04–08 record per variant.
VARIANT_KEYS = (
    "params",
    "size_bytes",
    "macs",
    "latency_ms_b1",
    "latency_ms_b64",
    "accuracy_mean",
    "accuracy_std",
    "seeds",
)


def work_unit(nodeid: str) -> str:
    """The work unit of a test under pytest-xdist: its notebook for tests/test_nbNN_*.py and for the tests of
    tests/test_notebooks.py parametrized by that notebook, so that they share its single smoke run; else its file,
    whose module fixtures then run once."""
    path = nodeid.split("::", 1)[0]
    in_file = re.search(r"/test_nb(\d\d)_[^/]*\.py$", path)
    by_param = re.search(r"\[(\d\d)_", nodeid) if path.endswith("/test_notebooks.py") else None
    number = in_file or by_param
    return f"notebook-{number[1]}" if number else path


# The work units that take longest on the 2-core reference machine (about 150 to 50 s each: notebook smoke runs,
# the papermill and JupyterLab runs), handed out first so that the last unit to finish is a short one. Only the
# order depends on this list; a unit missing from it runs after these, in pytest-xdist's order.
SLOWEST_FIRST = (
    "notebook-03",
    "tests/test_papermill_cli.py",
    "tests/test_browser.py",
    "notebook-08",
    "notebook-06",
    "tests/test_reliability.py",
    "notebook-09",
    "tests/test_runner.py",
    "tests/test_sop_pretraining.py",
)


class NotebookSchedulingPlugin:
    """Hands pytest-xdist whole work units (see `work_unit`), slowest first; its own groups by mark do not work
    with pytest 9. Registered only when pytest-xdist is active."""

    @staticmethod
    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        """LoadScopeScheduling with `work_unit` as the scope and SLOWEST_FIRST's units at the head of the queue."""
        from xdist.scheduler import LoadScopeScheduling

        class NotebookScheduling(LoadScopeScheduling):
            """LoadScopeScheduling by `work_unit`, the slowest units first."""

            def _split_scope(self, nodeid: str) -> str:
                return work_unit(nodeid)

            def _assign_work_unit(self, node: Any) -> None:
                if not getattr(self, "_ordered", False):
                    rank = {unit: i for i, unit in enumerate(SLOWEST_FIRST)}
                    units = sorted(self.workqueue.items(), key=lambda item: rank.get(item[0], len(rank)))
                    self.workqueue.clear()
                    self.workqueue.update(units)
                    self._ordered = True
                super()._assign_work_unit(node)

        return NotebookScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    """Use the notebook scheduler when the tests run under pytest-xdist (`make test` does)."""
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(NotebookSchedulingPlugin(), "fsl-notebook-scheduling")


@dataclass
class SmokeRun:
    """A notebook executed headless with the smoke profile: its status, recorded results and assessed claims."""

    run: NotebookRun
    out_dir: Path
    results: dict[str, Any]
    claims: list[dict[str, Any]]

    def claim(self, claim_id: str) -> dict[str, Any]:
        """The assessed claim with this id (fails the test when it is missing)."""
        matches = [c for c in self.claims if c["id"] == claim_id]
        assert matches, f"claim {claim_id!r} was not assessed; assessed: {[c['id'] for c in self.claims]}"
        return matches[0]


@pytest.fixture(scope="session", autouse=True)
def separate_stores(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Test runs keep their MLflow stores out of the user's own (FSL_STORE_DIR), unless one is set already."""
    os.environ.setdefault(STORE_DIR_ENV, str(tmp_path_factory.mktemp("stores")))


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory):
    """Execute `notebooks/<stem>.ipynb` once with profile=smoke and return its SmokeRun (cached per session)."""
    out_dir = tmp_path_factory.mktemp("smoke")
    cache: dict[str, SmokeRun] = {}

    def run(stem: str, **parameters: Any) -> SmokeRun:
        key = stem + json.dumps(parameters, sort_keys=True)
        if key not in cache:
            target = out_dir / f"params-{len(cache)}" if parameters else out_dir
            result = execute_notebook(
                NOTEBOOKS_DIR / f"{stem}.ipynb", target, "smoke", SMOKE_TIMEOUT_S, parameters
            )
            results_file = target / f"{stem}.results.json"
            claims_file = target / f"{stem}.claims.json"
            cache[key] = SmokeRun(
                result,
                target,
                json.loads(results_file.read_text()) if results_file.exists() else {},
                json.loads(claims_file.read_text()) if claims_file.exists() else [],
            )
        smoke = cache[key]
        if smoke.run.status != "ok":
            log = (smoke.out_dir / f"{stem}.log").read_text(errors="replace")[-4000:]
            pytest.fail(f"{stem} {smoke.run.status}: {smoke.run.error}\n--- log tail ---\n{log}")
        return smoke

    return run


def expected_verdict(claim: dict[str, Any]) -> str:
    """The verdict a stored claim's rule gives its stored measurement, derived here without helpers.core.claims."""
    measured, rule = claim["measured"], claim["rule"]
    if measured is None:
        return "not measurable here"
    target, partly = rule["target"], rule["partly"]
    if rule["kind"] == "within":
        strict = abs(measured - target) <= max(rule["abs_tol"], rule["rel_tol"] * abs(target))
        loose = partly is not None and abs(measured - target) <= max(rule["abs_tol"], partly * abs(target))
    else:
        sign = 1 if rule["kind"] in ("at_least", "greater_than") else -1
        inclusive = rule["kind"] in ("at_least", "at_most")

        def margin(bound: float) -> float:
            """Positive on the claimed side of `bound`."""
            return sign * (measured - bound)

        strict = margin(target) > 0 or (inclusive and margin(target) == 0)
        loose = partly is not None and (margin(partly) > 0 or (inclusive and margin(partly) == 0))
    return "reproduced" if strict else "partly reproduced" if loose else "not reproduced"
