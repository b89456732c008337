"""Shared fixtures: each notebook's results come from its single nbval execution (see tests/notebook_runs.py)."""

from __future__ import annotations

import json
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
