"""The run report: hardware summary, every claim beside its published figure, notebook status, figures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import markdown

from helpers.collection.provenance import run_metadata
from helpers.core.environment import environment_report, summary_lines
from helpers.core.results import write_json_atomic

UNFINISHED = {"failed": "failed", "timeout": "timed out", "interrupted": "interrupted"}
HTML_HEAD = """<!doctype html><html><head><meta charset="utf-8"><title>Faster · Smaller · Lighter — run report</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}
th{background:#f3f3f3}img{max-width:100%}code{background:#f5f5f5}</style></head><body>
"""


def _load_json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def collect_claims(
    out_dir: Path, stems: list[str], statuses: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """All claims written by the notebooks of a run, in notebook order; a claim from a notebook that did not
    finish cleanly carries that notebook's status (`notebook_status`: failed, timeout or interrupted)."""
    claims: list[dict[str, Any]] = []
    for stem in stems:
        status = (statuses or {}).get(stem, "ok")
        for claim in _load_json(out_dir / f"{stem}.claims.json", []):
            claims.append(claim if status == "ok" else {**claim, "notebook_status": status})
    return claims


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _caveat(claim: dict[str, Any]) -> str:
    status = claim.get("notebook_status")
    return f" (notebook {UNFINISHED.get(status, status)}: may be partial)" if status else ""


def claims_markdown(claims: list[dict[str, Any]]) -> str:
    """A Markdown table of claims: published vs measured vs verdict, with the reason."""
    lines = ["| Notebook | Claim | Published | Measured | Verdict | Why |", "|---|---|---|---|---|---|"]
    for c in claims:
        unit = f" {c['unit']}" if c["unit"] else ""
        measured = "—" if c["measured"] is None else f"{_cell(c['measured'])}{unit}"
        published = _cell(c["published"]) + (unit if isinstance(c["published"], (int, float)) else "")
        lines.append(
            f"| {c['notebook']} | {_cell(c['statement'])} | {published} | {measured} | "
            f"**{c['verdict']}**{_caveat(c)} | {_cell(c['reason'])} |"
        )
    return "\n".join(lines)


def write_report(
    out_dir: Path, profile: str, runs: list[dict[str, Any]], state: str | None = None, note: str = ""
) -> None:
    """Write claims.json, run.json, report.md and report.html for a run that ended; `state` is complete,
    failures (derived from the runs when None) or interrupted, explained by `note`."""
    stems = [r["stem"] for r in runs]
    state = state or ("complete" if all(r["status"] == "ok" for r in runs) else "failures")
    claims = collect_claims(out_dir, stems, {r["stem"]: r["status"] for r in runs})
    env = environment_report()
    write_json_atomic(out_dir / "claims.json", claims)
    finished = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_json_atomic(
        out_dir / "run.json",
        {"state": state, "finished": finished, "profile": profile, "environment": env, "notebooks": runs}
        | run_metadata(out_dir, stems, env),
    )
    ok = sum(r["status"] == "ok" for r in runs)
    notebook_rows = ["| Notebook | Status | Time | Results | Figures |", "|---|---|---|---|---|"]
    figures: dict[str, list[Path]] = {}
    for run in runs:
        stem = run["stem"]
        figures[stem] = sorted(out_dir.glob(f"{stem}.*.png"))
        results = _load_json(out_dir / f"{stem}.results.json", {})
        status = run["status"] if run["status"] == "ok" else f"**{run['status']}**"
        status += f": {_cell(run['error'])}" if run["error"] else ""
        notebook_rows.append(
            f"| [{stem}]({stem}.ipynb) | {status} | {run['seconds']:.0f} s | {len(results)} | {len(figures[stem])} |"
        )
    blocks = [
        "# Faster · Smaller · Lighter — run report",
        *(
            [f"**Interrupted** {note}: this run is incomplete; notebooks marked *not run* did not start."]
            if state == "interrupted"
            else []
        ),
        f"Finished {finished}; profile `{profile}`; {ok} of {len(runs)} notebooks ran cleanly in "
        f"{sum(r['seconds'] for r in runs) / 60:.1f} min.",
        "## Hardware and software",
        "\n".join(f"- {line}" for line in summary_lines(env)),
        "## Claims",
        claims_markdown(claims) if claims else "No claim was assessed in this run.",
        "## Notebooks",
        "\n".join(notebook_rows),
        "## Figures",
    ]
    for stem, paths in figures.items():
        if paths:
            blocks.append(f"### {stem}")
            blocks.extend(f"![{p.stem}]({p.name})" for p in paths)
    text = "\n\n".join(blocks) + "\n"
    (out_dir / "report.md").write_text(text)
    body = markdown.markdown(text, extensions=["tables"])
    (out_dir / "report.html").write_text(HTML_HEAD + body + "\n</body></html>\n")


README_START, README_END = "<!-- claims:start -->", "<!-- claims:end -->"


def update_readme(readme: Path, run_dir: Path) -> None:
    """Replace the README's claims block with the claims table of the run in `run_dir`."""
    claims_file, run_file = run_dir / "claims.json", run_dir / "run.json"
    if not claims_file.exists() or not run_file.exists():
        raise ValueError(f"No finished run in {run_dir}; run `make notebooks` (or `make run`) first.")
    run = json.loads(run_file.read_text())
    hardware = summary_lines(run["environment"])
    block = "\n\n".join(
        [
            README_START,
            f"Measured by `make notebooks` (profile `{run['profile']}`, {run['finished']}) on: "
            f"{hardware[0].removeprefix('CPU: ')}; {hardware[2]}. Regenerate with `python -m helpers readme`.",
            claims_markdown(json.loads(claims_file.read_text())),
            README_END,
        ]
    )
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    readme.write_text(text[:start] + block + text[end:])
