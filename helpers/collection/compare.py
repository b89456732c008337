"""Results across machines: finished runs side by side, claim by claim, and the committed reference runs.

`compare` writes comparison.md and a self-contained comparison.html; `publish` copies a finished run into
docs/results/<machine>/ with nothing personal in it; `update_readme_across_machines` keeps the README's section
"Results across machines" in step with them; `against_references` tells a reader how their own run differs from
the reference of the same profile.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.collection.provenance import PROJECT_ROOT, machine_name
from helpers.collection.report import table_cell
from helpers.core.claims import Rule
from helpers.core.results import write_json_atomic

REFERENCES_DIR = Path("docs/results")
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# An absolute path of two or more components that does not continue a word, a URL or a relative path.
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~])/(?:[^\s/'\"()\[\]<>|,;:]+/)+([^\s/'\"()\[\]<>|,;:]+)")


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
        """CPU, cores, RAM and GPU in one line."""
        env = self.environment
        cpu = env["cpu"]
        gpus = ", ".join(g["name"] for g in env.get("gpus") or []) or "none"
        return f"{cpu['model']} ({cpu['logical_cores']} cores), {env['ram_bytes'] / 2**30:.0f} GiB RAM; GPU: {gpus}"

    def identity(self) -> tuple[Any, ...]:
        """What tells this run from another: machine, hardware, profile, finish time, revision, tree state, parameters."""
        params = json.dumps(self.parameters, sort_keys=True)
        return (self.machine, self.hardware, self.profile, self.finished, self.commit, self.modified, params)


def load_run(path: Path) -> Run:
    """Read a finished run folder (run.json and claims.json), or say in one sentence why it is not one."""
    run_file, claims_file = path / "run.json", path / "claims.json"
    if not run_file.exists() or not claims_file.exists():
        raise ValueError(
            f"{path} is not a finished run (no run.json and claims.json); give a folder written by "
            "`python -m helpers run`, e.g. reports/latest or docs/results/<machine>."
        )
    data = json.loads(run_file.read_text())
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
        claims=json.loads(claims_file.read_text()),
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
    return entry["reason"].removeprefix(base.rstrip()).lstrip(". ").strip()


def published_text(row: Row) -> str:
    """A claim's published figure, with its unit when it is a number."""
    unit = f" {row.unit}" if row.unit and isinstance(row.published, (int, float)) else ""
    return f"{table_cell(row.published)}{unit}"


def measured_text(entry: dict[str, Any] | None) -> str:
    """A stored claim's measured value with its unit, '—' when not measured, '' when not assessed."""
    if entry is None:
        return ""
    if entry["measured"] is None:
        return "—"
    return f"{table_cell(entry['measured'])} {entry['unit']}".strip()


def _why(row: Row, runs: list[Run]) -> list[str]:
    """Why a claim's verdict differs: rule; machines, profiles and parameters that differ; each run's own note."""
    assessed = [(run, entry) for run, entry in zip(runs, row.entries, strict=True) if entry is not None]
    lines = []
    rules = {Rule.from_dict(e["rule"]).describe() for _, e in assessed}
    lines.append(f"Rule: {rules.pop()}." if len(rules) == 1 else "The runs used different rules.")
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


def _differing_versions(runs: list[Run]) -> list[str]:
    """Per run, the library versions that are not the same in every run."""
    versions = [run.environment.get("versions", {}) for run in runs]
    names = sorted({n for v in versions for n in v})
    differ = [n for n in names if len({v.get(n) for v in versions}) > 1]
    return [", ".join(f"{n} {v.get(n) or 'absent'}" for n in differ) for v in versions]


def _summary(comparison: Comparison) -> str:
    count = len(comparison.differing)
    return (
        f"{len(comparison.rows)} claims across {len(comparison.runs)} {'run' if len(comparison.runs) == 1 else 'runs'}; "
        f"{count} {'verdict differs' if count == 1 else 'verdicts differ'} between runs"
        + (" (marked ⚠)." if count else ".")
    )


def comparison_markdown(comparison: Comparison, base: Path, level: int = 2) -> str:
    """The comparison as Markdown: runs, then one row per claim, then why the differing verdicts differ.

    Sections get headings of `level`; run labels link to each run's report.md, relative to the folder `base`
    the Markdown is written into."""
    heading = "#" * level
    runs = comparison.runs
    links = [os.path.relpath(run.path.resolve() / "report.md", base.resolve()) for run in runs]
    versions = len(runs) > 1 and _differing_versions(runs)
    blocks = [_summary(comparison)]
    if comparison.warnings:
        blocks.append("\n".join(f"> **Warning:** {w}" for w in comparison.warnings))
    run_rows = ["| Run | Profile | Finished | Revision | Hardware | Python |", "|---|---|---|---|---|---|"]
    for run, link in zip(runs, links, strict=True):
        run_rows.append(
            f"| [{table_cell(run.label)}]({link}) | {run.profile} | {run.finished} | {run.revision} | "
            f"{table_cell(run.hardware)} | {run.environment['python']} |"
        )
    blocks += [f"{heading} Runs", "\n".join(run_rows)]
    if versions and any(versions):
        blocks.append(
            "Library versions that differ: "
            + "; ".join(f"{r.label}: {v}" for r, v in zip(runs, versions, strict=True))
            + "."
        )
    elif versions:
        blocks.append("Library versions: the same in every run.")
    header = ["", "Notebook", "Claim", "Published"]
    for run in runs:
        header += [f"{run.label}: measured", f"{run.label}: verdict"]
    claim_rows = ["| " + " | ".join(table_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in comparison.rows:
        cells = ["⚠" if row.differs else "", row.notebook, table_cell(row.statement), published_text(row)]
        for entry in row.entries:
            cells += [table_cell(measured_text(entry)), f"**{entry['verdict']}**" if entry else "not run"]
        claim_rows.append("| " + " | ".join(cells) + " |")
    blocks += [f"{heading} Claims", "\n".join(claim_rows)]
    if comparison.differing:
        why = [f"{heading} Why the verdicts differ"]
        for row in comparison.differing:
            why.append(
                f"- **{row.notebook}: {table_cell(row.statement)}**\n"
                + "\n".join(f"  - {line}" for line in row.why)
            )
        blocks.append("\n".join(why))
    return "\n\n".join(blocks)


CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;padding:0 1em;color:#222;max-width:1600px}
table{border-collapse:collapse;font-size:.85em;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}
th{background:#f3f3f3}th.run{background:#e4ecf7}.warning{background:#fdecea;border-left:4px solid #c62828;padding:.4em .8em}
tr.differs td{background:#fff3cd}tr.differs td:first-child{border-left:4px solid #e0a800;font-weight:bold}
.v-reproduced{color:#1b5e20}.v-partly-reproduced{color:#8d6e00}.v-not-reproduced{color:#b71c1c}
.v-not-measurable-here{color:#666}td.verdict{font-weight:600;white-space:nowrap}td.why{min-width:28em}td.why ul{margin:0;padding-left:1.1em}
.small{color:#555;font-size:.85em}"""


def _verdict_cell(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return '<td class="verdict v-not-run">not run</td>'
    slug = re.sub(r"[^a-z]+", "-", entry["verdict"])
    return f'<td class="verdict v-{slug}">{html.escape(entry["verdict"])}</td>'


def comparison_html(comparison: Comparison, title: str) -> str:
    """The comparison as one self-contained HTML page (inline CSS, no scripts, no external assets)."""
    runs, e = comparison.runs, html.escape
    out = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>',
        f"<style>{CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="summary">{e(_summary(comparison))}</p>',
    ]
    out += [f'<p class="warning">{e(w)}</p>' for w in comparison.warnings]
    versions = _differing_versions(runs) if len(runs) > 1 else ["—"]
    versions = [v or "same in every run" for v in versions]
    out.append(
        '<h2>Runs</h2><table class="runs"><tr><th>Run</th><th>Profile</th><th>Finished</th>'
        "<th>Revision</th><th>Hardware</th><th>Python</th><th>Versions that differ</th></tr>"
    )
    for run, version in zip(runs, versions, strict=True):
        cells = [
            run.label,
            run.profile,
            run.finished,
            run.revision,
            run.hardware,
            run.environment["python"],
            version,
        ]
        out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
    out.append('</table><h2>Claims</h2><table class="claims"><thead><tr>')
    out.append("".join(f'<th rowspan="2">{h}</th>' for h in ("", "Notebook", "Claim", "Published")))
    for run in runs:
        out.append(
            f'<th class="run" colspan="2">{e(run.machine)}<br>profile {e(run.profile)}<br>'
            f'<span class="small">{e(run.finished)} · {e(run.revision)}</span></th>'
        )
    out.append(
        '<th rowspan="2">Why it differs</th></tr><tr>' + "<th>measured</th><th>verdict</th>" * len(runs)
    )
    out.append("</tr></thead><tbody>")
    for row in comparison.rows:
        attrs = f' class="differs" title="verdicts differ" data-claim="{e(row.id)}"' if row.differs else ""
        cells = [
            f"<td>{'⚠' if row.differs else ''}</td>",
            f"<td>{e(row.notebook)}</td>",
            f"<td>{e(str(row.statement))}</td>",
            f"<td>{e(published_text(row))}</td>",
        ]
        for entry in row.entries:
            cells += [f"<td>{e(measured_text(entry))}</td>", _verdict_cell(entry)]
        why = "".join(f"<li>{e(line)}</li>" for line in row.why)
        cells.append(f'<td class="why"><ul>{why}</ul></td>' if why else "<td></td>")
        out.append(f"<tr{attrs}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></body></html>\n")
    return "\n".join(out)


TITLE = "Faster · Smaller · Lighter — results across machines"


def write_comparison(run_dirs: list[Path], out_dir: Path) -> Comparison:
    """Compare the runs and write comparison.md and comparison.html into `out_dir`."""
    comparison = compare(run_dirs)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.md").write_text(f"# {TITLE}\n\n{comparison_markdown(comparison, out_dir)}\n")
    (out_dir / "comparison.html").write_text(comparison_html(comparison, TITLE))
    return comparison


def reference_runs(references_dir: Path = REFERENCES_DIR) -> list[Path]:
    """The committed reference run folders, sorted by machine name."""
    if not references_dir.is_dir():
        return []
    return sorted(p for p in references_dir.iterdir() if (p / "run.json").exists())


def readme_block(run_dirs: list[Path], readme: Path) -> str:
    """The README's 'Results across machines' block (between the markers) for these run folders."""
    if run_dirs:
        body = comparison_markdown(compare(run_dirs), readme.parent, level=3)
    else:
        body = (
            f"No reference run is committed yet in `{REFERENCES_DIR}/`: `make notebooks` publishes this project's "
            "cpu run there, and anyone can add theirs (below)."
        )
    note = "Regenerate with `python -m helpers compare docs/results/* --readme README.md`."
    return "\n\n".join([README_START, note, body, README_END])


def current_readme_block(readme: Path) -> str:
    """The block between the README's results markers as it stands, or a clear error when the markers are missing."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(
            f"{readme} has no {README_START} … {README_END} markers; add them where the section goes."
        )
    return text[text.index(README_START) : text.index(README_END) + len(README_END)]


def update_readme_across_machines(readme: Path, run_dirs: list[Path]) -> None:
    """Replace the README's results block with the comparison of `run_dirs`."""
    old = current_readme_block(readme)
    readme.write_text(readme.read_text().replace(old, readme_block(run_dirs, readme)))


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


def _expand(paths: list[Path]) -> list[Path]:
    """Run folders as given, with any glob the shell left unexpanded (e.g. docs/results/* when empty) expanded."""
    expanded: list[Path] = []
    for path in paths:
        if not path.exists() and any(ch in str(path) for ch in "*?["):
            expanded += sorted(Path().glob(str(path)))
        else:
            expanded.append(path)
    return expanded


def compare_command(runs: list[Path], out_dir: Path, readme: Path | None, references: bool) -> int:
    """`python -m helpers compare`: write the comparison, refresh the README section, or check a run against references."""
    runs = _expand(runs)
    if readme is not None:
        update_readme_across_machines(readme, runs or reference_runs())
        print(f"Refreshed the results section of {readme} ({len(runs or reference_runs())} runs).")
        return 0
    if references:
        if len(runs) != 1:
            raise ValueError(
                "--references compares exactly one run folder with the references, e.g. reports/latest."
            )
        print("\n".join(against_references(runs[0])))
        return 0
    comparison = write_comparison(runs, out_dir)
    for warning in comparison.warnings:
        print(f"warning: {warning}")
    print(f"{_summary(comparison)} Written: {out_dir / 'comparison.md'}, {out_dir / 'comparison.html'}")
    return 0
