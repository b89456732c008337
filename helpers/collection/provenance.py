"""What makes a run folder self-describing: the machine's name, the code's git revision, each notebook's parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers.core.environment import machine_name, read_git_revision

PARAMS_PREFIX = "params."


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
