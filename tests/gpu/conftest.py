"""GPU checks: skipped where no CUDA GPU is usable; they read the run written by tests/gpu/run.sh."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers.core.environment import cuda_available


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip gpu-marked tests on machines without a usable CUDA GPU."""
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a usable CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def gpu_results() -> dict[str, dict]:
    """Results of the gpu-profile run, by notebook stem (FSL_GPU_RUN, default reports/gpu)."""
    run_dir = Path(os.environ.get("FSL_GPU_RUN", "reports/gpu"))
    if not (run_dir / "run.json").exists():
        pytest.fail(f"No gpu run in {run_dir}: run `bash tests/gpu/run.sh` first.")
    return {
        p.name.removesuffix(".results.json"): json.loads(p.read_text())
        for p in run_dir.glob("*.results.json")
    }
