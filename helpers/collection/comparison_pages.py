"""The comparison of runs as pages: comparison.md, a self-contained comparison.html, the README's section, the command."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

from helpers.collection.compare import Comparison, Run, compare, published_text
from helpers.collection.notebooks import require_complete
from helpers.collection.publish import REFERENCES_DIR, against_references, reference_runs, require_references
from helpers.collection.report import read_readme
from helpers.core.conclusions import measured_text, table_cell
from helpers.core.results import create_dir, write_text_atomic

README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def _differing_versions(runs: list[Run]) -> list[str]:
    """Per run, the library versions that are not the same in every run."""
    versions = [run.environment.get("versions", {}) for run in runs]
    names = sorted({n for v in versions for n in v})
    differ = [n for n in names if len({v.get(n) for v in versions}) > 1]
    return [", ".join(f"{n} {v.get(n) or 'absent'}" for n in differ) for v in versions]


def _summary(comparison: Comparison) -> str:
    count, flips = len(comparison.differing), len(comparison.conclusive_flips)
    split = (
        f": {flips} conclusive {'flip' if flips == 1 else 'flips'}, {count - flips} not shown to be"
        if count
        else ""
    )
    return (
        f"{len(comparison.rows)} claims across {len(comparison.runs)} {'run' if len(comparison.runs) == 1 else 'runs'}; "
        f"{count} {'verdict differs' if count == 1 else 'verdicts differ'} between runs{split}"
        + (
            " (conclusive flips marked ‼, the others ⚠; a flip is conclusive when every run's interval decided its"
            " verdict, not when a run is inconclusive, could not measure, or was judged before verdicts carried"
            " intervals)."
            if count
            else "."
        )
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
        cells = [row.mark, row.notebook, table_cell(row.statement), published_text(row)]
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
            f"<td>{row.mark}</td>",
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
    create_dir(out_dir, "pass --out a folder, e.g. reports/comparison")
    (out_dir / "comparison.md").write_text(f"# {TITLE}\n\n{comparison_markdown(comparison, out_dir)}\n")
    (out_dir / "comparison.html").write_text(comparison_html(comparison, TITLE))
    return comparison


REGENERATE = "Regenerate with `python -m helpers compare docs/results/* --readme README.md`."


def comparison_page(readme: Path) -> Path:
    """The page that holds the full comparison of the reference runs, beside the README: docs/comparison.md."""
    return readme.parent / "docs" / "comparison.md"


def comparison_page_text(comparison: Comparison | None, readme: Path) -> str:
    """The full comparison page (docs/comparison.md) of the reference runs (None: there are none): runs, every
    claim, why verdicts differ."""
    page = comparison_page(readme)
    body = (
        comparison_markdown(comparison, page.parent, level=2)
        if comparison is not None
        else "No reference run yet."
    )
    return "\n\n".join(["# Results across machines", REGENERATE, body]) + "\n"


def readme_block(comparison: Comparison | None, readme: Path) -> str:
    """The README's 'Results across machines' block (between the markers) for the reference runs (None: there are
    none): the summary, a link to each run's report and to the full comparison page."""
    if comparison is not None:
        links = [
            os.path.relpath(run.path.resolve() / "report.md", readme.parent.resolve())
            for run in comparison.runs
        ]
        where = comparison_page(readme).relative_to(readme.parent).as_posix()
        body = "\n\n".join(
            [
                _summary(comparison),
                "Runs: "
                + ", ".join(
                    f"[{run.label}]({link})" for run, link in zip(comparison.runs, links, strict=True)
                )
                + ".",
                f"Claim by claim, with why each differing verdict differs: [{where}]({where}).",
            ]
        )
    else:
        body = (
            f"No reference run is committed yet in `{REFERENCES_DIR}/`: `make notebooks` publishes this project's "
            "cpu run there, and anyone can add theirs (below)."
        )
    return "\n\n".join([README_START, REGENERATE, body, README_END])


def current_readme_block(readme: Path) -> str:
    """The block between the README's results markers as it stands, or a clear error when the markers are missing."""
    text = read_readme(readme, "compare --readme")
    if README_START not in text or README_END not in text:
        raise ValueError(
            f"{readme} has no {README_START} … {README_END} markers; add them where the section goes."
        )
    return text[text.index(README_START) : text.index(README_END) + len(README_END)]


def update_readme_across_machines(
    readme: Path, run_dirs: list[Path], notebooks_dir: Path = Path("notebooks")
) -> None:
    """Replace the README's results block and the full comparison page (docs/comparison.md), atomically, with the
    comparison of `run_dirs`, each of which must be a complete run of the collection in `notebooks_dir` (anything
    else is refused in one sentence)."""
    old = current_readme_block(readme)
    for run_dir in run_dirs:
        require_complete(run_dir, notebooks_dir, "compare --readme")
    comparison = compare(run_dirs) if run_dirs else None
    page = comparison_page(readme)
    page.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(page, comparison_page_text(comparison, readme))
    write_text_atomic(readme, readme.read_text().replace(old, readme_block(comparison, readme)))


def _expand(paths: list[Path]) -> list[Path]:
    """Run folders as given, with any glob the shell left unexpanded (e.g. docs/results/* when empty) expanded."""
    expanded: list[Path] = []
    for path in paths:
        if not path.exists() and any(ch in str(path) for ch in "*?["):
            expanded += sorted(Path().glob(str(path)))
        else:
            expanded.append(path)
    return expanded


def compare_command(
    runs: list[Path],
    out_dir: Path,
    readme: Path | None,
    references: bool,
    notebooks_dir: Path = Path("notebooks"),
) -> int:
    """`python -m helpers compare`: write the comparison, refresh the README section, or check a run against references."""
    runs = _expand(runs)
    if readme is not None:
        if not runs:
            require_references(REFERENCES_DIR, "compare --readme README.md")
            runs = reference_runs()
        update_readme_across_machines(readme, runs, notebooks_dir)
        print(f"Refreshed the results section of {readme} ({len(runs)} runs).")
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
