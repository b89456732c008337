"""00_environment_check: the environment report is recorded and matches this machine."""

from __future__ import annotations

import os

from helpers.core.environment import cuda_available, rapids_status


def test_records_the_machine(smoke_run):
    results = smoke_run("00_environment_check").results
    assert results["hardware.cpu_count"] == os.cpu_count()
    assert (results["hardware.gpu"] is not None) == cuda_available()
    assert results["rapids.available"] == rapids_status()["available"]
    assert results["versions.torch"]
    assert results["probe.cpu_matmul_gflops"] > 0
    assert (results["probe.gpu_matmul_gflops"] is None) == (not cuda_available())
