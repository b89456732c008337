"""Results across machines: finished runs loaded and lined up claim by claim, and why their verdicts differ."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.core.claims import NOT_REPRODUCED, PARTLY, REPRODUCED, Rule
from helpers.core.conclusions import measured_text, table_cell
from helpers.core.environment import machine_name
from helpers.core.results import read_json

CONCLUSIVE = (REPRODUCED, PARTLY, NOT_REPRODUCED)  # the verdicts an interval decided
# What run.json must hold for a comparison to describe the run, and the keys of its environment shown.
REQUIRED = ("profile", "finished", "environment")
REQUIRED_ENVIRONMENT = ("python", "cpu", "ram_bytes")


@dataclass
class Run:
    """One finished run folder: who measured (machine, profile, code revision, parameters) and its claims."""

    path: Path
    machine: str
    profile: str
    finished: str
    commit: str | None
    modified: bool | None
    changed_files: int
    environment: dict[str, Any]
    parameters: dict[str, dict[str, Any]]
    notebooks: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    state: str = "complete"
    note: str = ""
    label: str = ""

    @property
    def revision(self) -> str:
        """The code revision in words: short commit, and whether the tree was modified."""
        if self.commit is None:
            return "unknown revision"
        if self.modified:
            return f"{self.commit[:7]}, modified ({self.changed_files} files)"
        return self.commit[:7]

    @property
    def hardware(self) -> str:
        """CPU (with its int8 instructions where recorded), cores, RAM and GPU in one line."""
        env = self.environment
        cpu = env["cpu"]
        int8 = cpu.get("int8_instructions")
        instructions = f", int8: {', '.join(int8) or 'none'}" if int8 is not None else ""
        gpus = ", ".join(g["name"] for g in env.get("gpus") or []) or "none"
        return (
            f"{cpu['model']} ({cpu['logical_cores']} cores{instructions}), {env['ram_bytes'] / 2**30:.0f} GiB RAM; "
            f"GPU: {gpus}"
        )

    def identity(self) -> tuple[Any, ...]:
        """What tells this run from another: machine, hardware, profile, finish time, revision, tree state, parameters."""
        params = json.dumps(self.parameters, sort_keys=True)
        return (self.machine, self.hardware, self.profile, self.finished, self.commit, self.modified, params)


def _missing(data: Any) -> list[str]:
    """The fields of REQUIRED that a run.json lacks."""
    if not isinstance(data, dict):
        return list(REQUIRED)
    missing = [key for key in REQUIRED if key not in data]
    environment = data.get("environment")
    if isinstance(environment, dict):
        missing += [f"environment.{key}" for key in REQUIRED_ENVIRONMENT if key not in environment]
    return missing


def load_run(path: Path) -> Run:
    """Read a finished run folder (run.json and claims.json), or say in one sentence why it is not one."""
    run_file, claims_file = path / "run.json", path / "claims.json"
    if not run_file.exists() or not claims_file.exists():
        raise ValueError(
            f"{path} is not a finished run (no run.json and claims.json); give a folder written by "
            "`python -m helpers run`, e.g. reports/latest or docs/results/<machine>."
        )
    data = read_json(run_file)
    missing = _missing(data)
    if missing:
        raise ValueError(
            f"{run_file} lacks {', '.join(missing)}, so the run cannot be described; give a run folder written "
            "by `python -m helpers run` as it left it, or rerun that run."
        )
    revision = data.get("revision") or {}
    return Run(
        path=path,
        machine=data.get("machine") or machine_name(data["environment"]),
        profile=data["profile"],
        finished=data["finished"],
        commit=revision.get("commit"),
        modified=revision.get("modified"),
        changed_files=revision.get("changed_files", 0),
        environment=data["environment"],
        parameters=data.get("parameters", {}),
        notebooks=data.get("notebooks", []),
        claims=read_json(claims_file),
        state=data.get("state", "complete"),
        note=data.get("note", ""),
    )


@dataclass
class Row:
    """One claim across the runs: each run's stored entry (None where that run did not assess it)."""

    notebook: str
    id: str
    statement: str
    published: Any
    unit: str
    entries: list[dict[str, Any] | None]
    why: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        """True when the runs that assessed this claim did not all reach the same verdict."""
        return len({e["verdict"] for e in self.entries if e is not None}) > 1

    @property
    def conclusive_flip(self) -> bool:
        """True when the verdicts differ and every one of them was decided by an interval (reproduced, partly or
        not): a real difference between the runs, worth a sentence on why. A difference where some run is
        inconclusive, could not measure, or was judged before verdicts carried intervals is not shown to be one."""
        entries = [e for e in self.entries if e is not None]
        decided = all(e["verdict"] in CONCLUSIVE and "estimate" in e for e in entries)
        return self.differs and decided

    @property
    def mark(self) -> str:
        """The row's mark in a comparison table: ‼ for a conclusive flip, ⚠ for another difference, else ''."""
        if self.conclusive_flip:
            return "‼"
        return "⚠" if self.differs else ""


@dataclass
class Comparison:
    """Runs side by side: their labels, one row per claim, and warnings about runs that look alike."""

    runs: list[Run]
    rows: list[Row]
    warnings: list[str]

    @property
    def differing(self) -> list[Row]:
        """The rows whose verdict differs between runs."""
        return [row for row in self.rows if row.differs]

    @property
    def conclusive_flips(self) -> list[Row]:
        """The differing rows whose verdicts are all conclusive (see Row.conclusive_flip)."""
        return [row for row in self.rows if row.conclusive_flip]


def _label_runs(runs: list[Run]) -> list[str]:
    """Give each run the shortest label that tells it from the others; warn about runs nothing tells apart."""
    parts = [
        lambda r: f"{r.machine} · {r.profile}",
        lambda r: r.finished,
        lambda r: r.revision,
    ]
    for run in runs:
        run.label = parts[0](run)
    for part in parts[1:]:
        labels = [r.label for r in runs]
        for run in runs:
            if labels.count(run.label) > 1:
                run.label = f"{run.label} · {part(run)}"
    for label in {run.label for run in runs}:
        same = [run for run in runs if run.label == label]
        if len(same) > 1:
            for number, run in enumerate(same, 1):
                run.label = f"{label} #{number}"
    warnings = []
    seen: dict[tuple[Any, ...], list[Run]] = {}
    for run in runs:
        seen.setdefault(run.identity(), []).append(run)
    for same in seen.values():
        if len(same) > 1:
            warnings.append(
                f"Runs {', '.join(r.label for r in same)} ({', '.join(str(r.path) for r in same)}) cannot be told "
                "apart (same machine, hardware, profile, finish time, revision and parameters): check that no run "
                "was given twice."
            )
    for run in runs:
        unfinished = [f"{n['stem']} {n['status']}" for n in run.notebooks if n["status"] != "ok"]
        if run.state == "interrupted":
            warnings.append(
                f"Run {run.label} ({run.path}) was interrupted{' ' + run.note if run.note else ''}: it is "
                f"incomplete ({', '.join(unfinished)}), so claims it lacks or marks partial are not verdicts of "
                "that machine."
            )
        elif unfinished:
            warnings.append(
                f"Run {run.label} ({run.path}) has notebooks that did not finish ok ({', '.join(unfinished)}): "
                "their claims may be partial."
            )
    unknown = [run.label for run in runs if run.commit is None]
    if unknown:
        warnings.append(
            f"{'Runs' if len(unknown) > 1 else 'Run'} {', '.join(unknown)} record no git revision (made outside a "
            "git checkout or before run folders carried one): they cannot be told from runs of other code."
        )
    return warnings


def _note(entry: dict[str, Any]) -> str:
    """The part of a claim's reason beyond the rule and the measured number: the notebook's own note."""
    if entry["measured"] is None:
        return entry["reason"]
    base = (
        f"{Rule.from_dict(entry['rule']).describe()}; measured {float(entry['measured']):.4g} {entry['unit']}"
    )
    return entry["reason"].removeprefix(base.rstrip()).lstrip(".,; ").strip()


def published_text(row: Row) -> str:
    """A claim's published figure, with its unit when it is a number."""
    unit = f" {row.unit}" if row.unit and isinstance(row.published, (int, float)) else ""
    return f"{table_cell(row.published)}{unit}"


def _why(row: Row, runs: list[Run]) -> list[str]:
    """Why a claim's verdict differs: rule; machines, profiles and parameters that differ; each run's own note."""
    assessed = [(run, entry) for run, entry in zip(runs, row.entries, strict=True) if entry is not None]
    lines = []
    rules = {Rule.from_dict(e["rule"]).describe() for _, e in assessed}
    lines.append(f"Rule: {rules.pop()}." if len(rules) == 1 else "The runs used different rules.")
    if row.conclusive_flip:
        lines.append(
            "Conclusive flip: every run's interval lies clear of the threshold it is judged on, so the runs "
            "really differ here, not by noise; what differs between them follows."
        )
    if len({run.hardware for run, _ in assessed}) > 1:
        lines.append(
            f"Machines differ: {'; '.join(f'{run.machine}: {run.hardware}' for run, _ in assessed)}."
        )
    profiles = [run.profile for run, _ in assessed]
    if len(set(profiles)) > 1:
        lines.append(f"Profiles differ ({' / '.join(profiles)}): the sizes measured differ.")
    params = [run.parameters[row.notebook] for run, _ in assessed if run.parameters.get(row.notebook)]
    keys = sorted({k for p in params for k in p} - {"profile"})
    changed = [k for k in keys if len({json.dumps(p.get(k)) for p in params}) > 1]
    if changed and len(params) == len(assessed):
        values = "; ".join(f"{k} {' / '.join(str(p.get(k, '—')) for p in params)}" for k in changed)
        lines.append(f"Parameters differ: {values}.")
    for run, entry in assessed:
        note = _note(entry)
        lines.append(
            f"{run.label}: {entry['verdict']}, measured {measured_text(entry)}"
            + (f" — {note}" if note else "")
        )
    return lines


def compare(run_dirs: list[Path]) -> Comparison:
    """Load the runs and line up their claims (by notebook and id, in first-seen order)."""
    if not run_dirs:
        raise ValueError(
            "Nothing to compare: give one or more run folders, e.g. reports/latest docs/results/*."
        )
    runs = [load_run(path) for path in run_dirs]
    warnings = _label_runs(runs)
    keys: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        for entry in run.claims:
            keys.setdefault((entry["notebook"], entry["id"]), entry)
    rows = []
    for (notebook, claim_id), first in keys.items():
        entries = [
            next((e for e in run.claims if (e["notebook"], e["id"]) == (notebook, claim_id)), None)
            for run in runs
        ]
        row = Row(notebook, claim_id, first["statement"], first["published"], first["unit"], entries)
        if row.differs:
            row.why = _why(row, runs)
        rows.append(row)
    return Comparison(runs, rows, warnings)
