"""Shared fixtures: each notebook's results come from its single nbval execution (see tests/notebook_runs.py)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.collection.runner import execute_notebook
from helpers.core.results import STORE_DIR_ENV

from .notebook_runs import DEFAULT_PROFILE, NOTEBOOKS_DIR, NotebookStatus, inputs_digest, results_dir

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


@dataclass
class SmokeRun:
    """A notebook executed headless with the smoke profile: where it wrote, its recorded results and claims."""

    out_dir: Path
    results: dict[str, Any]
    claims: list[dict[str, Any]]

    def claim(self, claim_id: str) -> dict[str, Any]:
        """The assessed claim with this id (fails the test when it is missing)."""
        matches = [c for c in self.claims if c["id"] == claim_id]
        assert matches, f"claim {claim_id!r} was not assessed; assessed: {[c['id'] for c in self.claims]}"
        return matches[0]

    @classmethod
    def read(cls, out_dir: Path, stem: str) -> SmokeRun:
        """The results and claims that notebook `stem` wrote into `out_dir`."""
        files = {kind: out_dir / f"{stem}.{kind}.json" for kind in ("results", "claims")}
        loaded = {kind: json.loads(f.read_text()) if f.exists() else None for kind, f in files.items()}
        return cls(out_dir, loaded["results"] or {}, loaded["claims"] or [])


@pytest.fixture(scope="session", autouse=True)
def separate_stores(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Test runs keep their MLflow stores out of the user's own (FSL_STORE_DIR), unless one is set already."""
    os.environ.setdefault(STORE_DIR_ENV, str(tmp_path_factory.mktemp("stores")))


def _executed_by_nbval(stem: str) -> SmokeRun | str | None:
    """The smoke run nbval made of the current notebook, or why it failed; None when there is none."""
    folder = results_dir()
    status = NotebookStatus.read(folder, stem)
    notebook = NOTEBOOKS_DIR / f"{stem}.ipynb"
    if status is None or status.profile != DEFAULT_PROFILE or status.digest != inputs_digest(notebook):
        return None
    if status.status != "ok":
        return f"nbval's execution of {stem} {status.status}:\n" + (
            "\n".join(status.failures) or "unfinished"
        )
    return SmokeRun.read(folder, stem)


def _executed_here(stem: str, out_dir: Path) -> SmokeRun | str:
    """Execute the notebook with the runner (smoke profile) into `out_dir`: its SmokeRun, or why it failed."""
    result = execute_notebook(NOTEBOOKS_DIR / f"{stem}.ipynb", out_dir, "smoke", SMOKE_TIMEOUT_S)
    if result.status != "ok":
        log = (out_dir / f"{stem}.log").read_text(errors="replace")[-4000:]
        return f"{stem} {result.status}: {result.error}\n--- log tail ---\n{log}"
    return SmokeRun.read(out_dir, stem)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory):
    """The SmokeRun of `notebooks/<stem>.ipynb`: nbval's execution of it (`make test` runs nbval first), else one
    made here with the runner, once per session."""
    cache: dict[str, SmokeRun | str] = {}  # a run, or why it failed

    def run(stem: str) -> SmokeRun:
        if stem not in cache:
            cache[stem] = _executed_by_nbval(stem) or _executed_here(stem, tmp_path_factory.mktemp(stem))
        smoke = cache[stem]
        if isinstance(smoke, str):
            pytest.fail(smoke)
        return smoke

    return run


def expected_verdict(claim: dict[str, Any]) -> str:
    """The verdict a stored claim's rule gives its stored interval (the measured value itself when it has none),
    derived here without helpers.core.claims: wholly on the claim's side of the target, wholly between the partly
    bound and the target, wholly beyond, or straddling one of them."""
    if claim["measured"] is None:
        return "not measurable here"
    if not all(claim.get("checks", {}).values()):
        return "not measurable at this scale"
    estimate = claim.get("estimate") or {"low": claim["measured"], "high": claim["measured"]}
    low = -math.inf if estimate["low"] is None else estimate["low"]  # JSON stores an unbounded side as null
    high = math.inf if estimate["high"] is None else estimate["high"]
    rule = claim["rule"]
    target, partly = rule["target"], rule["partly"]

    def side(bound: float) -> int | None:
        """+1 wholly on the claimed side of `bound`, −1 wholly beyond it, None straddling."""
        if rule["kind"] == "within":
            tol = max(rule["abs_tol"], bound * abs(target))
            inside, outside = (
                target - tol <= low and high <= target + tol,
                high < target - tol or low > target + tol,
            )
        elif rule["kind"] in ("at_least", "greater_than"):
            inside = low >= bound if rule["kind"] == "at_least" else low > bound
            outside = high < bound if rule["kind"] == "at_least" else high <= bound
        else:
            inside = high <= bound if rule["kind"] == "at_most" else high < bound
            outside = low > bound if rule["kind"] == "at_most" else low >= bound
        return 1 if inside else -1 if outside else None

    sides = [side(rule["rel_tol"] if rule["kind"] == "within" else target)]
    sides += [side(partly)] if partly is not None else []
    negligible = rule.get("negligible", 0.0)  # rules stored before it existed have none
    if negligible:  # one-sided rules only: the target moved towards the claim
        sides.append(
            side(target + negligible if rule["kind"] in ("at_least", "greater_than") else target - negligible)
        )
    if sides[0] == 1:
        return "reproduced"
    if sides[-1] == -1:
        return "not reproduced"
    return "partly reproduced" if sides == [-1, 1] and partly is not None else "inconclusive"
