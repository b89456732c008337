"""helpers.core.environment: the report describes this machine; platform detection; RAPIDS status is honest."""

from __future__ import annotations

import os

import pytest

from helpers.core import environment
from helpers.core.environment import (
    collection_plan,
    cuda_available,
    environment_report,
    hosting_platform,
    library_versions,
    rapids_install_hint,
    summary_lines,
)


def test_report_describes_this_machine():
    report = environment_report()
    assert report["cpu"]["logical_cores"] == os.cpu_count()
    assert report["ram_bytes"] > 2**28
    assert (report["gpu"] is None) == (not cuda_available())
    assert report["versions"]["torch"]
    assert any(line.startswith("CPU:") for line in summary_lines(report))


def test_missing_library_version_is_none():
    assert library_versions(("surely-not-installed-xyz",)) == {"surely-not-installed-xyz": None}


@pytest.mark.parametrize(
    ("variable", "expected"),
    [("COLAB_RELEASE_TAG", "colab"), ("KAGGLE_KERNEL_RUN_TYPE", "kaggle"), ("BINDER_LAUNCH_HOST", "binder")],
)
def test_hosting_platform(monkeypatch, variable, expected):
    for name in ("COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE", "BINDER_LAUNCH_HOST", "BINDER_REQUEST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "1")
    assert hosting_platform() == expected


@pytest.mark.skipif(cuda_available(), reason="checks the CPU-only path")
def test_without_gpu_rapids_is_unavailable_with_reason_and_hint():
    status = environment.rapids_status()
    assert status == {
        "available": False,
        "cudf": None,
        "cuml": None,
        "reason": "no CUDA GPU is visible to this process",
    }
    report = environment_report()
    assert "NVIDIA GPU" in rapids_install_hint(report)
    assert all("CPU" in row["runs on"] for row in collection_plan(report))


def test_install_hint_picks_the_cuda_major():
    report = {
        "rapids": {"available": False, "reason": "cudf is not importable"},
        "gpu": "H200",
        "gpus": [{"cuda_runtime": "13.0"}],
        "platform": "local",
    }
    assert "rapids-cu13" in rapids_install_hint(report)
    report["gpus"][0]["cuda_runtime"] = "12.8"
    assert "rapids-cu12" in rapids_install_hint(report)
