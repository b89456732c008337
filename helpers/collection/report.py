"""The run report: hardware summary, every claim beside its published figure, notebook status, figures.

`report.html` is self-contained (figures embedded as data URIs, with their alt text) and links a rendered HTML
page of each executed notebook. The README's notebook index and claims summary, and the full claims page
docs/claims.md, are regenerated from a run.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from pathlib import Path
from typing import Any

import markdown
import nbformat

from helpers.collection.notebooks import require_complete
from helpers.collection.provenance import run_metadata
from helpers.core.claims import VERDICTS
from helpers.core.conclusions import measured_text, table_cell
from helpers.core.environment import environment_report, summary_lines
from helpers.core.plotting import read_alt
from helpers.core.results import read_json, write_json_atomic, write_text_atomic

UNFINISHED = {"failed": "failed", "timeout": "timed out", "interrupted": "interrupted"}
HTML_HEAD = """<!doctype html><html><head><meta charset="utf-8"><title>Faster · Smaller · Lighter — run report</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}
th{background:#f3f3f3}img{max-width:100%}code{background:#f5f5f5}figcaption{font-size:.85em;color:#555}</style>
</head><body>
"""


def _load_json(path: Path, default: Any) -> Any:
    return read_json(path) if path.exists() else default


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


def _caveat(claim: dict[str, Any]) -> str:
    status = claim.get("notebook_status")
    return f" (notebook {UNFINISHED.get(status, status)}: may be partial)" if status else ""


def claims_markdown(claims: list[dict[str, Any]]) -> str:
    """A Markdown table of claims: published vs measured vs verdict, with the reason."""
    lines = ["| Notebook | Claim | Published | Measured | Verdict | Why |", "|---|---|---|---|---|---|"]
    for c in claims:
        unit = f" {c['unit']}" if c["unit"] else ""
        measured = measured_text(c)
        published = table_cell(c["published"]) + (unit if isinstance(c["published"], (int, float)) else "")
        lines.append(
            f"| {c['notebook']} | {table_cell(c['statement'])} | {published} | {measured} | "
            f"**{c['verdict']}**{_caveat(c)} | {table_cell(c['reason'])} |"
        )
    return "\n".join(lines)


def claims_summary_markdown(claims: list[dict[str, Any]]) -> str:
    """A Markdown table with one row per notebook: how many of its claims got each verdict."""
    notebooks = list(dict.fromkeys(c["notebook"] for c in claims))
    verdicts = [v for v in VERDICTS if any(c["verdict"] == v for c in claims)]
    lines = ["| Notebook | " + " | ".join(verdicts) + " |", "|---|" + "---|" * len(verdicts)]
    for notebook in notebooks:
        mine = [c["verdict"] for c in claims if c["notebook"] == notebook]
        lines.append(f"| {notebook} | " + " | ".join(str(mine.count(v) or "") for v in verdicts) + " |")
    totals = [sum(c["verdict"] == v for c in claims) for v in verdicts]
    lines.append("| **all** | " + " | ".join(f"**{t}**" for t in totals) + " |")
    return "\n".join(lines)


def render_notebook(notebook: Path) -> Path:
    """Write `<stem>.html` beside an executed notebook (nbconvert's lab template; images stay embedded)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(notebook, as_version=4))
    page = notebook.with_suffix(".html")
    page.write_text(body)
    return page


def figure_html(path: Path) -> str:
    """A figure embedded as a data URI, with its alt text as `alt` and as a caption."""
    alt = html.escape(read_alt(path), quote=True)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{html.escape(path.stem)}: {alt}</figcaption></figure>"
    )


def write_report(
    out_dir: Path, profile: str, runs: list[dict[str, Any]], state: str | None = None, note: str = ""
) -> None:
    """Write claims.json, run.json, report.md, a page per executed notebook and a self-contained report.html for a
    run that ended; `state` is complete, failures (derived from the runs when None) or interrupted, explained by
    `note`."""
    stems = [r["stem"] for r in runs]
    state = state or ("complete" if all(r["status"] == "ok" for r in runs) else "failures")
    claims = collect_claims(out_dir, stems, {r["stem"]: r["status"] for r in runs})
    env = environment_report()
    write_json_atomic(out_dir / "claims.json", claims)
    finished = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    write_json_atomic(
        out_dir / "run.json",
        {"state": state, "finished": finished, "profile": profile, "environment": env, "notebooks": runs}
        | ({"note": note} if note else {})
        | run_metadata(out_dir, stems, env),
    )
    ok = sum(r["status"] == "ok" for r in runs)
    notebook_rows = ["| Notebook | Status | Time | Results | Figures |", "|---|---|---|---|---|"]
    figures: dict[str, list[Path]] = {}
    for run in runs:
        stem = run["stem"]
        figures[stem] = sorted(out_dir.glob(f"{stem}.*.png"))
        results = _load_json(out_dir / f"{stem}.results.json", {})
        executed = out_dir / f"{stem}.ipynb"
        link = (
            f"[{stem}]({render_notebook(executed).name}) ([ipynb]({stem}.ipynb))"
            if executed.exists()
            else stem
        )
        status = run["status"] if run["status"] == "ok" else f"**{run['status']}**"
        status += f": {table_cell(run['error'])}" if run["error"] else ""
        notebook_rows.append(
            f"| {link} | {status} | {run['seconds']:.0f} s | {len(results)} | {len(figures[stem])} |"
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
    text = "\n\n".join(blocks)
    markdown_figures, html_figures = [], []
    for stem, paths in figures.items():
        if paths:
            markdown_figures.append(f"### {stem}")
            markdown_figures.extend(f"![{read_alt(p)}]({p.name})" for p in paths)
            html_figures.append(f"<h3>{html.escape(stem)}</h3>")
            html_figures.extend(figure_html(p) for p in paths)
    (out_dir / "report.md").write_text("\n\n".join([text, *markdown_figures]) + "\n")
    body = markdown.markdown(text, extensions=["tables"]) + "\n" + "\n".join(html_figures)
    (out_dir / "report.html").write_text(HTML_HEAD + body + "\n</body></html>\n")


README_START, README_END = "<!-- claims:start -->", "<!-- claims:end -->"
INDEX_START, INDEX_END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"
NOTEBOOK_METADATA = "fsl"  # notebook metadata key holding {"question": ..., "gpu": ...} for the README index


def replace_block(text: str, start: str, end: str, block: str, where: str = "README.md") -> str:
    """`text` with everything from marker `start` to marker `end` (both kept) replaced by `block`."""
    if text.count(start) != 1 or text.count(end) != 1:
        raise ValueError(
            f"{where} must hold exactly one {start} and one {end} marker (found {text.count(start)} and "
            f"{text.count(end)}); put the pair on their own lines where the generated table goes."
        )
    first, last = text.index(start), text.index(end)
    if last < first:
        raise ValueError(f"{where} has {end} before {start}; put the start marker first.")
    return text[:first] + start + "\n\n" + block + "\n\n" + end + text[last + len(end) :]


def notebook_index(run: dict[str, Any], notebooks_dir: Path) -> str:
    """The README's notebook index: each notebook, the question it answers, its run time, the GPU it uses."""
    lines = [
        f"| Notebook | The question it answers | `{run['profile']}` profile time | GPU |",
        "|---|---|---|---|",
    ]
    for entry in run["notebooks"]:
        path = notebooks_dir / f"{entry['stem']}.ipynb"
        about = nbformat.read(path, as_version=4).metadata.get(NOTEBOOK_METADATA, {}) if path.exists() else {}
        if not about.get("question") or not about.get("gpu"):
            raise ValueError(
                f"{path} has no metadata.{NOTEBOOK_METADATA}.question/gpu; add both (one line each) so that the "
                "README index can describe it."
            )
        time = f"{entry['seconds'] / 60:.1f} min" if entry["status"] == "ok" else f"**{entry['status']}**"
        lines.append(
            f"| [{entry['stem']}](notebooks/{path.name}) | {table_cell(about['question'])} | {time} | "
            f"{table_cell(about['gpu'])} |"
        )
    return "\n".join(lines)


def read_readme(readme: Path, command: str) -> str:
    """The README's text, or one sentence when there is none where `python -m helpers <command>` looks for it."""
    if not readme.is_file():
        raise ValueError(
            f"No {readme} in {Path.cwd()}; run `python -m helpers {command}` from the project root, where "
            "README.md is."
        )
    return readme.read_text()


def claims_page(readme: Path) -> Path:
    """The page that holds the full claims table, beside the README: docs/claims.md."""
    return readme.parent / "docs" / "claims.md"


CLAIMS_PAGE_INTRO = """# The claims, in full

Every claim, the published figure beside the one measured in the committed notebooks, and the verdict computed
from them. A measurement comes with its 95 % interval and says what the interval is of (a t interval over seeds, a
Wilson interval over held-out examples, the order statistics of the median over paired timing rounds; a count or
a size is exact). The verdict is **reproduced** when the whole interval lies on the claim's side of its threshold,
**partly reproduced** when it lies wholly between a claim's weaker bound and its threshold, **not reproduced** when
it lies wholly on the other side, and **inconclusive** when it straddles a threshold (the reason then says about
how many more seeds, rounds or examples would decide it). *Not measurable here* means this machine could not
measure it (no GPU); *not measurable at this scale* means a check the measurement depends on failed (a model that
did not learn its own task). Each notebook closes with the same verdicts in words, under "What we found"."""


def update_readme_notebooks_and_claims(
    readme: Path, run_dir: Path, notebooks_dir: Path = Path("notebooks")
) -> None:
    """Regenerate the README's notebook index and claims summary, and the full claims page (docs/claims.md),
    from the complete run in `run_dir` (anything else is refused in one sentence); both are replaced atomically."""
    text = read_readme(readme, "readme")
    require_complete(run_dir, notebooks_dir, "readme")
    run = read_json(run_dir / "run.json")
    hardware = summary_lines(run["environment"])
    measured_on = (
        f"Measured by `make notebooks` (profile `{run['profile']}`, {run['finished']}) on: "
        f"{hardware[0].removeprefix('CPU: ')}; {hardware[2]}. Regenerate with `python -m helpers readme`."
    )
    cores = hardware[0].removeprefix("CPU: ")
    index = f"Times from the run of {run['finished']} (profile `{run['profile']}`) on {cores}.\n\n"
    index += notebook_index(run, notebooks_dir)
    text = replace_block(text, INDEX_START, INDEX_END, index, readme.name)
    claims = read_json(run_dir / "claims.json")
    page = claims_page(readme)
    where = page.relative_to(readme.parent).as_posix()
    link = f"Each claim with its published figure, measurement, interval and reason: [{where}]({where})."
    summary = "\n\n".join([measured_on, claims_summary_markdown(claims), link])
    text = replace_block(
        text, README_START, README_END, summary, readme.name
    )  # refused before anything is written
    page.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(page, "\n\n".join([CLAIMS_PAGE_INTRO, measured_on, claims_markdown(claims)]) + "\n")
    write_text_atomic(readme, text)
