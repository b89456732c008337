"""Publishing a complete run into the committed reference runs (docs/results/<machine>-<profile>/) and checking a
run against them. A reference is built aside and swapped in, so the one it replaces is never lost half-way."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from helpers.collection.compare import compare, load_run
from helpers.collection.notebooks import require_complete
from helpers.core.cache import locked
from helpers.core.conclusions import measured_text
from helpers.core.environment import PROJECT_ROOT
from helpers.core.results import create_dir, read_json, write_json_atomic, write_text_atomic

REFERENCES_DIR = Path("docs/results")
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# An absolute path of two or more components that does not continue a word, a URL or a relative path.
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~])/(?:[^\s/'\"()\[\]<>|,;:]+/)+([^\s/'\"()\[\]<>|,;:]+)")


def reference_runs(references_dir: Path = REFERENCES_DIR) -> list[Path]:
    """The committed reference run folders, sorted by name (never a hidden one that publishing builds aside)."""
    if not references_dir.is_dir():
        return []
    return sorted(
        p for p in references_dir.iterdir() if not p.name.startswith(".") and (p / "run.json").exists()
    )


def require_references(references_dir: Path, command: str) -> None:
    """Refuse, in one sentence, to read the committed references where there are none: outside the project root."""
    if not references_dir.is_dir():
        raise ValueError(
            f"No {references_dir} folder in {Path.cwd()}, so there are no committed reference runs to read; run "
            f"`python -m helpers {command}` from the project root."
        )


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


def _refuse_another(target: Path, machine: str, profile: str) -> None:
    """Refuse, in one sentence, to replace a folder that holds another machine's or another profile's reference."""
    if not target.exists():
        return
    theirs = read_json(target / "run.json") if (target / "run.json").is_file() else {}
    if (theirs.get("machine"), theirs.get("profile")) != (machine, profile):
        held = (
            f"the reference run of machine {theirs.get('machine')}, profile {theirs.get('profile')}"
            if theirs
            else "no reference run"
        )
        raise ValueError(
            f"{target} holds {held}, and this run is machine {machine}, profile {profile}: publishing would "
            "replace it, so pass --name with this machine's own name (or move that folder away)."
        )


def _write_reference(run_dir: Path, folder: Path, machine: str) -> None:
    """Write the published copy of a run into `folder`: run.json, claims.json, report.md and figures, scrubbed."""
    folder.mkdir()
    write_json_atomic(
        folder / "run.json", _scrub_data(read_json(run_dir / "run.json") | {"machine": machine}, run_dir)
    )
    write_json_atomic(folder / "claims.json", _scrub_data(read_json(run_dir / "claims.json"), run_dir))
    report = (run_dir / "report.md").read_text()
    report = re.sub(
        r"\[([^\]]+)\]\(\1\.html\) \(\[ipynb\]\(\1\.ipynb\)\)", r"\1", report
    )  # unpublished pages
    report = re.sub(r"\[([^\]]+)\]\(\1\.ipynb\)", r"\1", report)
    write_text_atomic(folder / "report.md", _scrub(report, run_dir))
    for figure in sorted(run_dir.glob("*.png")):
        shutil.copyfile(figure, folder / figure.name)


def _swap_in(new: Path, target: Path) -> None:
    """Make the complete folder `new` the folder `target`: the old one is set aside, the new one renamed in, and
    only then is the old one removed (a copy set aside by a publish that was killed is restored first)."""
    old = target.with_name(f".{target.name}.old")
    if old.exists() and not target.exists():
        old.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def publish(
    run_dir: Path,
    references_dir: Path = REFERENCES_DIR,
    name: str | None = None,
    notebooks_dir: Path = Path("notebooks"),
) -> Path:
    """Copy a complete run of the collection in `notebooks_dir` into `references_dir/<machine>-<profile>/`: run.json,
    claims.json, report.md and figures; anything but a complete run is refused, and so is a folder holding another
    machine's or profile's reference.

    The machine `name` defaults to the hardware's (e.g. amd-epyc-avx512vnni-2core, h200). Paths are scrubbed from
    the copies; the executed notebooks and logs stay behind. The folder is built aside and swapped in."""
    require_complete(run_dir, notebooks_dir, "publish")
    run = load_run(run_dir)
    machine = name or run.machine
    if not NAME_PATTERN.fullmatch(machine):
        raise ValueError(
            f"Machine name {machine!r} is not a folder name; use lower-case letters, digits, '.', '-'."
        )
    target = create_dir(references_dir, "publish from the project root") / f"{machine}-{run.profile}"
    with locked(references_dir):  # one publish at a time into the references
        _refuse_another(target, machine, run.profile)
        new = target.with_name(f".{target.name}.new")
        shutil.rmtree(new, ignore_errors=True)  # left by a publish that was killed
        try:
            _write_reference(run_dir, new, machine)
            _swap_in(new, target)
        finally:
            shutil.rmtree(new, ignore_errors=True)
    return target


def against_references(run_dir: Path, references_dir: Path = REFERENCES_DIR) -> list[str]:
    """Lines telling how a run's verdicts differ from each committed reference run of the same profile."""
    require_references(references_dir, "compare --references")
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
        f"claims.json, report.md and the figures into {references_dir}/<machine>-<profile>/ (hardware, library versions, "
        "parameters and results: no paths, no user names); commit that folder with the README refresh "
        f"(`python -m helpers compare {references_dir}/* --readme README.md`) and open a pull request."
    )
    return lines
