"""What makes a run folder self-describing: the machine's name, the code's git revision, each notebook's parameters."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PARAMS_PREFIX = "params."


def machine_name(environment: dict[str, Any]) -> str:
    """A short folder-safe name for the hardware: the GPU model (e.g. 'h200', '2x-a100'), else the CPU model and
    its logical cores (e.g. 'amd-epyc-2core', 'intel-xeon-platinum-8480c-2core'; 'cpu-2core' when it is unknown),
    so that two different 2-core machines never publish under one name."""
    gpus = environment.get("gpus") or []
    if gpus:
        model = re.sub(r"\b(nvidia|geforce|tesla)\b", "", gpus[0]["name"].lower())
        slug = re.sub(r"[^a-z0-9]+", "-", model).strip("-") or "gpu"
        return slug if len(gpus) == 1 else f"{len(gpus)}x-{slug}"
    cpu = environment["cpu"]
    model = re.sub(r"\((r|tm)\)|\bcpu\b|@.*$|\b\d+-core processor\b", " ", (cpu.get("model") or "").lower())
    prefix = re.sub(r"[^a-z0-9]+", "-", model).strip("-")[:32].strip("-") or "cpu"
    return f"{prefix}-{cpu['logical_cores']}core"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def read_git_revision() -> dict[str, Any]:
    """The commit the collection's code ran from, and whether (and in how many files) the tree differed from it.

    Only a count of changed files is kept, never their names: a run folder may be published.
    None outside a git checkout of this project."""
    top = _git("rev-parse", "--show-toplevel")
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain")
    if top is None or commit is None or status is None or Path(top.strip()).resolve() != PROJECT_ROOT:
        return {"commit": None, "modified": None, "changed_files": 0}
    changed = sum(1 for line in status.splitlines() if line.strip())
    return {"commit": commit.strip(), "modified": changed > 0, "changed_files": changed}


# Read once, when `python -m helpers` starts: a run records the code it started from, and the notebooks that
# `make notebooks` writes back in place during the run do not count as modifications.
STARTING_REVISION = read_git_revision()


def notebook_parameters(out_dir: Path, stems: list[str]) -> dict[str, dict[str, Any]]:
    """Each notebook's resolved parameters, as it recorded them (the params.* results)."""
    parameters: dict[str, dict[str, Any]] = {}
    for stem in stems:
        path = out_dir / f"{stem}.results.json"
        results = json.loads(path.read_text()) if path.exists() else {}
        parameters[stem] = {
            k.removeprefix(PARAMS_PREFIX): v for k, v in results.items() if k.startswith(PARAMS_PREFIX)
        }
    return parameters


def run_metadata(out_dir: Path, stems: list[str], environment: dict[str, Any]) -> dict[str, Any]:
    """The run.json fields that tell one run from another besides time and profile."""
    return {
        "machine": machine_name(environment),
        "revision": STARTING_REVISION,
        "parameters": notebook_parameters(out_dir, stems),
    }
