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


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One xdist group per notebook and per other test file, so that a session or module fixture runs once per
    `make test`: a notebook's group holds tests/test_nbNN_*.py and every test parametrized by that notebook's
    `stem`, whose single smoke run they share."""
    for item in items:
        in_file = re.match(r"test_nb(\d\d)_", item.path.name)
        stem = item.callspec.params.get("stem") if hasattr(item, "callspec") else None
        number = in_file[1] if in_file else stem[:2] if isinstance(stem, str) else None
        group = f"notebook-{number}" if number is not None else item.path.stem
        item.add_marker(pytest.mark.xdist_group(group))


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
