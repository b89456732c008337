"""Binder: binder/ must build on mybinder.org; pip resolves its requirements from PyPI here (a dry run)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib

import pytest

from .notebook_runs import ROOT

BINDER = ROOT / "binder"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Settings that add package sources beyond PyPI; mybinder.org has none of them, so the dry run drops them.
LOCAL_SOURCES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_NO_INDEX")


def _runtime() -> tuple[int, int]:
    match = re.fullmatch(r"python-(\d+)\.(\d+)", (BINDER / "runtime.txt").read_text().strip())
    assert match, "binder/runtime.txt must read like python-3.11"
    return int(match[1]), int(match[2])


def _requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_runtime_python_is_one_the_project_supports():
    floor = tuple(int(x) for x in re.fullmatch(r">=(\d+)\.(\d+)", PROJECT["requires-python"]).groups())
    assert _runtime() >= floor, f"binder/runtime.txt asks for Python {_runtime()}, below requires-python"


def test_requirements_use_plain_pypi_and_install_the_collection():
    lines = _requirement_lines()
    options = [
        line for line in lines if line.startswith(("-i", "--index-url", "--extra-index-url", "-f", "--find"))
    ]
    assert not options, f"binder/requirements.txt must use plain PyPI (CI can reach nothing else): {options}"
    assert "-e .[lab]" in lines, (
        "binder/requirements.txt must install the collection with its notebook server (`-e .[lab]`)"
    )


def test_pyspark_gets_a_java_runtime_on_binder():
    if not any(dep.startswith("pyspark") for dep in PROJECT["dependencies"]):
        pytest.skip("the collection does not use pyspark")
    packages = (BINDER / "apt.txt").read_text().split()
    assert any(re.fullmatch(r"openjdk-\d+-jre(-headless)?", p) for p in packages), (
        "binder/apt.txt needs a JRE"
    )


@pytest.mark.network
def test_binder_requirements_resolve_from_pypi(tmp_path):
    runtime = _runtime()
    if sys.version_info[:2] != runtime:
        pytest.skip(f"binder/runtime.txt pins Python {runtime}; run the tests with it to resolve for Binder")
    env = {k: v for k, v in os.environ.items() if k not in LOCAL_SOURCES}
    env["PIP_CONFIG_FILE"] = os.devnull  # no machine-wide pip.conf: plain PyPI, as on mybinder.org
    report = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
        str(report),
        "-r",
        str(BINDER / "requirements.txt"),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (
        f"pip cannot resolve binder/requirements.txt from PyPI:\n{done.stderr[-4000:]}"
    )
    installs = {
        item["metadata"]["name"].lower().replace("_", "-")
        for item in json.loads(report.read_text())["install"]
    }
    wanted = {re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].lower() for dep in PROJECT["dependencies"]}
    assert PROJECT["name"] in installs
    assert wanted <= installs, f"Binder would miss {sorted(wanted - installs)}"
    assert not {name for name in installs if name.startswith(("cudf", "cuml"))}, (
        "Binder has no GPU: no RAPIDS"
    )
