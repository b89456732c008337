"""The collection's own notebooks (`NN_snake_case.ipynb`), and whether a run folder is a complete run of them all:
the one check of every command that writes committed files from a run (readme, publish, compare --readme)."""

from __future__ import annotations

import re
from pathlib import Path

from helpers.core.results import read_json

# A collection notebook is named NN_snake_case.ipynb; a JupyterLab copy (`04_…-Copy1.ipynb`) is not one.
NOTEBOOK_NAME = re.compile(r"\d\d_[a-z0-9_]+\.ipynb")
STATES = {
    "running": "its run.json still says running (the run is in progress, or its runner died)",
    "interrupted": "it was interrupted",
    "abandoned": "it was abandoned before it finished",
}


def collection_notebooks(notebooks_dir: Path) -> list[Path]:
    """The collection's notebooks in `notebooks_dir`, sorted by name; one sentence when there is no such folder."""
    if not notebooks_dir.is_dir():
        raise ValueError(
            f"No notebooks folder at {notebooks_dir}; run from the project root or pass --notebooks."
        )
    return sorted(p for p in notebooks_dir.glob("[0-9]*.ipynb") if NOTEBOOK_NAME.fullmatch(p.name))


def incomplete(run_dir: Path, notebooks_dir: Path) -> str | None:
    """Why `run_dir` is not a complete run of the collection in `notebooks_dir` (a phrase), or None when every one
    of its notebooks ran and finished ok, the run ended as complete, and its claims.json and report.md exist."""
    if not (run_dir / "run.json").is_file():
        return "it holds no run.json"
    data = read_json(run_dir / "run.json")
    ran = {entry["stem"]: entry["status"] for entry in data.get("notebooks", [])}
    unfinished = [f"{stem} {status}" for stem, status in ran.items() if status != "ok"]
    if unfinished:
        return f"its notebooks {', '.join(unfinished)} did not finish ok"
    if data.get("state") != "complete":
        return STATES.get(data.get("state"), f"its run.json records the state {data.get('state')!r}")
    expected = [p.stem for p in collection_notebooks(notebooks_dir)]
    missing = [stem for stem in expected if stem not in ran]
    if missing:
        return f"it ran {len(ran)} of the {len(expected)} notebooks in {notebooks_dir} (not {', '.join(missing)})"
    strangers = [stem for stem in ran if stem not in expected]
    if strangers:
        return f"it ran notebooks that are not in {notebooks_dir} ({', '.join(strangers)})"
    for name in ("claims.json", "report.md"):
        if not (run_dir / name).is_file():
            return f"it has no {name}"
    return None


def require_complete(run_dir: Path, notebooks_dir: Path, command: str) -> None:
    """Refuse, in one sentence, to write committed files with `python -m helpers <command>` from a run that is not
    a complete run of the collection (see `incomplete`)."""
    reason = incomplete(run_dir, notebooks_dir)
    if reason:
        raise ValueError(
            f"`python -m helpers {command}` writes committed files only from a complete run of every notebook, and "
            f"{run_dir} is not one: {reason}; run `python -m helpers run` without --only and let every notebook "
            "finish first."
        )
