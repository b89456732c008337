"""helpers/collection/gpu_extra.py: the RAPIDS extra `make run` and the cloud cell install, from what nvidia-smi
reports (a fake `nvidia-smi` first on PATH, a real process), and the RAPIDS set installed beside a runtime's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from helpers.collection import gpu_extra
from helpers.collection.gpu_extra import choose, detect, rapids_plan, satisfies

from .notebook_runs import ROOT

HEADER = "| NVIDIA-SMI {driver}   Driver Version: {driver}   CUDA Version: {cuda} |"
CU12 = ["cudf-cu12>=26.6,<27", "cuml-cu12>=26.6,<27", "dask-cudf-cu12>=26.6,<27", "dask-cuda>=26.6,<27"]


@pytest.mark.parametrize(
    ("caps", "driver", "cuda", "extra", "why"),
    [
        ([7.5], "550.54.15", 12, "rapids-cu12", "driver 550.54.15 (CUDA 12), compute capability 7.5"),
        ([9.0, 9.0], "580.65.06", 13, "rapids-cu13", "compute capability 9.0"),
        ([7.5], "580.65.06", 13, "rapids-cu13", "CUDA 13"),
        ([7.0], "580.65.06", 13, "rapids-cu12", "compute capability 7.0"),  # CUDA 13 builds dropped Volta
        ([7.0, 9.0], "580.65.06", 13, "rapids-cu12", "compute capability 7.0"),  # the oldest GPU decides
        ([7.5], "530.30.02", 12, "", "driver 530.30.02 (CUDA 12)"),  # CUDA 12 builds need driver ≥ 535
        ([8.0], "575.51", 12, "rapids-cu12", "CUDA 12"),  # a CUDA 12 driver cannot run CUDA 13 builds
        ([6.0], "580.65.06", 13, "", "compute capability 6.0"),
        ([8.0], "470.82", 11, "", "CUDA 11"),
        ([], "", 0, "", "compute capability unknown"),
    ],
    ids=[
        "t4-cu12",
        "h100-cu13",
        "t4-cu13",
        "v100-on-a-cu13-driver",
        "mixed",
        "old-driver",
        "cu12-driver-570",
        "p100",
        "cuda11",
        "nothing-reported",
    ],
)
def test_the_extra_follows_driver_cuda_major_and_compute_capability(caps, driver, cuda, extra, why):
    chosen, reason = choose(caps, driver, cuda)
    assert chosen == extra and why in reason and "\n" not in reason
    if not extra:
        assert reason.startswith("No RAPIDS extra:") and "driver ≥ 580" in reason and "≥ 7.5" in reason


def _fake_smi(tmp_path, monkeypatch, body: str) -> os.PathLike:
    """An executable `nvidia-smi` running `body` (sh), first on PATH; each call appends its arguments to calls.log."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    smi = folder / "nvidia-smi"
    smi.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "calls.log"}\n{body}\n')
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "calls.log"


def _answering(driver: str, cuda: str, caps: str) -> str:
    header = HEADER.format(driver=driver, cuda=cuda)
    return f'if [ "$1" = "--query-gpu=compute_cap" ]; then printf "{caps}"; else echo "{header}"; fi'


def test_detect_reads_nvidia_smi(tmp_path, monkeypatch):
    calls = _fake_smi(tmp_path, monkeypatch, _answering("535.104.05", "12.2", "7.0\\n"))
    assert detect() == (
        "rapids-cu12",
        "RAPIDS extra rapids-cu12: driver 535.104.05 (CUDA 12), compute capability 7.0",
    )
    assert len(calls.read_text().splitlines()) == 2


def test_a_hanging_nvidia_smi_is_given_up_after_the_timeout(tmp_path, monkeypatch):
    _fake_smi(tmp_path, monkeypatch, "exec sleep 60")
    monkeypatch.setattr(gpu_extra, "SMI_TIMEOUT_S", 0.5)
    started = time.perf_counter()
    extra, why = detect()
    assert extra == "" and "no answer within 0.5 s" in why
    assert time.perf_counter() - started < 10


def test_the_script_runs_on_the_standard_library_alone(tmp_path, monkeypatch):
    _fake_smi(tmp_path, monkeypatch, _answering("580.65.06", "13.0", "8.6\\n"))
    # -S: no site-packages, as for `make run` before the virtual environment exists
    done = subprocess.run(
        [sys.executable, "-S", "helpers/collection/gpu_extra.py"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0 and done.stdout == "rapids-cu13\n"
    assert done.stderr.count("\n") == 1 and "compute capability 8.6" in done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_detects_the_extra_once_and_installs_it_once(tmp_path, monkeypatch):
    # a copy of what the Makefile reads, dry-run (-n): recipes are printed, not run; sub-makes dry-run too
    for name in ("Makefile", "pyproject.toml", "helpers/collection/gpu_extra.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed").touch()
    calls = _fake_smi(tmp_path, monkeypatch, _answering("550.54.15", "12.4", "7.5\\n"))
    make = ["make", "-n", "-C", str(tmp_path), f"VENV={venv}", f"PYTHON={sys.executable}"]

    def dry_run(target: str) -> str:
        done = subprocess.run([*make, target], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = dry_run("run")
    assert len(calls.read_text().splitlines()) == 2  # one detection: the header and the capability query
    assert "pip install -e '.[rapids-cu12]'" in first
    (venv / ".installed-rapids-cu12").touch()
    assert "pip install" not in dry_run("run")  # installed already: not again
    calls.unlink()
    dry_run("test")
    assert not calls.exists()  # only `make run` asks nvidia-smi


@pytest.mark.parametrize(
    ("installed", "installs", "why"),
    [
        ({}, CU12, "Installing the complete RAPIDS set"),
        (
            {
                "cudf-cu12": "26.10.2",
                "cuml-cu12": "26.10.0",
                "dask-cudf-cu12": "26.10.2",
                "dask-cuda": "26.10.0",
            },
            [],
            "complete matching set, so it is used as it is",
        ),
        ({"cudf-cu12": "25.10.0", "cuml-cu12": None}, [], "The runtime has RAPIDS cudf-cu12 25.10.0, not a"),
        (
            {
                "cudf-cu12": "25.10.0",
                "cuml-cu12": "25.10.0",
                "dask-cudf-cu12": "25.10.0",
                "dask-cuda": "25.10.0",
            },
            [],
            "installing beside it would mix releases",
        ),
        (
            {
                "cudf-cu12": "26.6.0",
                "cuml-cu12": "26.10.0",
                "dask-cudf-cu12": "26.10.2",
                "dask-cuda": "26.10.0",
            },
            [],
            "left as it is",
        ),
        ({"cudf-cu13": "26.10.2", "cuml-cu13": "26.10.0"}, [], "The runtime has RAPIDS cudf-cu13 26.10.2"),
    ],
    ids=["none", "complete-matching", "partial", "other-release", "mixed-releases", "other-cuda"],
)
def test_never_a_mixed_rapids_set(installed, installs, why):
    chosen, reason = rapids_plan(CU12, installed)
    assert chosen == installs and why in reason and "\n" not in reason


def test_version_specifiers():
    assert satisfies("26.10.2", ">=26.6,<27") and not satisfies("25.10.0", ">=26.6,<27")
    assert not satisfies("27.0.0", ">=26.6,<27") and satisfies("26.10.0rc1", "==26.10")
