"""Publishing a finished run into the committed reference runs (docs/results/<machine>/) and checking against them."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from helpers.collection.compare import compare, load_run
from helpers.collection.provenance import PROJECT_ROOT
from helpers.collection.report import measured_text
from helpers.core.results import write_json_atomic

REFERENCES_DIR = Path("docs/results")
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# An absolute path of two or more components that does not continue a word, a URL or a relative path.
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~])/(?:[^\s/'\"()\[\]<>|,;:]+/)+([^\s/'\"()\[\]<>|,;:]+)")


def reference_runs(references_dir: Path = REFERENCES_DIR) -> list[Path]:
    """The committed reference run folders, sorted by machine name."""
    if not references_dir.is_dir():
        return []
    return sorted(p for p in references_dir.iterdir() if (p / "run.json").exists())


def _scrub(text: str, run_dir: Path) -> str:
    """Drop what is personal from published text: absolute paths (home, project, run folder, any other)."""
    for prefix, replacement in ((run_dir.resolve(), "."), (PROJECT_ROOT, "."), (Path.home(), "~")):
        text = re.sub(re.escape(str(prefix)) + r"(?![\w.-])", replacement, text)
    return ABSOLUTE_PATH.sub(r"…/\1", text)


def _scrub_data(data: Any, run_dir: Path) -> Any:
    if isinstance(data, dict):
        return {k: _scrub_data(v, run_dir) for k, v in data.items()}
    if isinstance(data, list):
        return [_scrub_data(v, run_dir) for v in data]
    return _scrub(data, run_dir) if isinstance(data, str) else data


def publish(run_dir: Path, references_dir: Path = REFERENCES_DIR, name: str | None = None) -> Path:
    """Copy a finished, clean run into `references_dir/<name>/`: run.json, claims.json, report.md and figures.

    The name defaults to the machine's (e.g. cpu-2core, h200). Paths are scrubbed from the copies; the executed
    notebooks and logs stay behind."""
    run = load_run(run_dir)
    failed = [n["stem"] for n in run.notebooks if n["status"] != "ok"]
    if failed:
        raise ValueError(
            f"{run_dir} has notebooks that did not finish ({', '.join(failed)}); rerun them first."
        )
    name = name or run.machine
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"Machine name {name!r} is not a folder name; use lower-case letters, digits, '.', '-'."
        )
    target = references_dir / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    data = json.loads((run_dir / "run.json").read_text()) | {"machine": name}
    write_json_atomic(target / "run.json", _scrub_data(data, run_dir))
    write_json_atomic(target / "claims.json", _scrub_data(run.claims, run_dir))
    report = (run_dir / "report.md").read_text()
    report = re.sub(
        r"\[([^\]]+)\]\(\1\.html\) \(\[ipynb\]\(\1\.ipynb\)\)", r"\1", report
    )  # unpublished pages
    report = re.sub(r"\[([^\]]+)\]\(\1\.ipynb\)", r"\1", report)
    (target / "report.md").write_text(_scrub(report, run_dir))
    for figure in sorted(run_dir.glob("*.png")):
        shutil.copyfile(figure, target / figure.name)
    return target


def against_references(run_dir: Path, references_dir: Path = REFERENCES_DIR) -> list[str]:
    """Lines telling how a run's verdicts differ from each committed reference run of the same profile."""
    mine = load_run(run_dir)
    references = [load_run(p) for p in reference_runs(references_dir)]
    same = [r for r in references if r.profile == mine.profile]
    lines = []
    if not same:
        others = ", ".join(f"{r.machine} ({r.profile})" for r in references) or "none"
        lines.append(
            f"No committed reference run has profile {mine.profile} (references: {others}); "
            f"see them all with `python -m helpers compare {run_dir} {references_dir}/*`."
        )
    for reference in same:
        comparison = compare([run_dir, reference.path])
        ours, theirs = comparison.runs
        both = [row for row in comparison.rows if all(row.entries)]
        lines.append(
            f"Your run ({ours.label}, {ours.finished}) against the reference {theirs.label} ({theirs.finished}), "
            f"{len(both)} claims assessed in both:"
        )
        for row in comparison.differing:
            yours, ref = row.entries
            if yours is not None and ref is not None:
                lines.append(
                    f"  {row.notebook}: {row.statement}: yours {yours['verdict']} ({measured_text(yours)}), "
                    f"reference {ref['verdict']} ({measured_text(ref)})"
                )
        if not any(row.differs for row in both):
            lines.append("  every verdict is the same as the reference's.")
    lines.append(
        f"To contribute your run: `python -m helpers publish {run_dir} [--name MACHINE]` copies run.json, "
        f"claims.json, report.md and the figures into {references_dir}/<machine>/ (hardware, library versions, "
        "parameters and results: no paths, no user names); commit that folder with the README refresh "
        f"(`python -m helpers compare {references_dir}/* --readme README.md`) and open a pull request."
    )
    return lines
