"""A notebook's closing "What we found": this run's verdicts as a short table, then one sentence per claim whose
wording follows from its verdict and interval, then what to try next. Rendered when the notebook runs, from the
claims it assessed, so the words change when the numbers do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from helpers.core.claims import (
    INCONCLUSIVE,
    NOT_MEASURABLE,
    NOT_MEASURABLE_AT_SCALE,
    NOT_REPRODUCED,
    PARTLY,
    REPRODUCED,
    Rule,
    assessed,
)
from helpers.core.stats import Estimate


def table_cell(value: Any) -> str:
    """A value as the text of one Markdown table cell: — for None, floats to 4 significant digits, no | or newline."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def measured_text(entry: Mapping[str, Any] | None) -> str:
    """A stored claim's measurement with its unit and, when it has one, its interval and level ('0.52 x [0.47,
    0.57] at 95 %', a one-sided bound as '[0.5, —]'); '—' when not measured, '' when not assessed."""
    if entry is None:
        return ""
    if entry["measured"] is None:
        return "—"
    text = f"{table_cell(entry['measured'])} {entry['unit']}".strip()
    estimate = entry.get("estimate") or {}
    bounded = estimate.get("low") is not None or estimate.get("high") is not None  # one sample has neither
    if estimate.get("level") is not None and bounded:
        text += f" [{table_cell(estimate['low'])}, {table_cell(estimate['high'])}] at {estimate['level']:.0%}"
    return text.replace("%", " %")


def finding(entry: Mapping[str, Any]) -> str:
    """One sentence on one assessed claim, worded by its verdict: what was measured, against which rule, and
    for an inconclusive one what would decide it."""
    verdict, rule = entry["verdict"], Rule.from_dict(entry["rule"])
    measured = measured_text(entry)
    if verdict == NOT_MEASURABLE:
        return f"not measured on this machine: {entry['reason']}."
    if verdict == NOT_MEASURABLE_AT_SCALE:
        failed = [check for check, passed in entry["checks"].items() if not passed]
        which = "this check fails" if len(failed) == 1 else "these checks fail"
        return f"measured {measured}, but not judged, because {which}: {'; '.join(failed)}."
    estimate = Estimate.from_dict(entry["estimate"])
    wording = {
        REPRODUCED: "which lies wholly on the claim's side",
        PARTLY: "which clears the weaker bound but not the claim itself",
        NOT_REPRODUCED: "which lies wholly on the other side",
        INCONCLUSIVE: "which this run cannot decide",
    }[verdict]
    if verdict == NOT_REPRODUCED and rule.judge(estimate).negligible:
        wording = "which stops short of the negligible-change bound: any change is too small to count"
    sentence = f"{verdict}: this run measured {measured}, {wording} (the rule: {rule.describe()})"
    if verdict == INCONCLUSIVE:
        sentence += f"; {rule.judge(estimate).to_decide(estimate, entry.get('sampled_by'))}"
    return sentence + "."


def findings_table(entries: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table of the claims: statement, published figure, this run's measurement, verdict."""
    rows = ["| claim | published | this run | verdict |", "|---|---|---|---|"]
    for entry in entries:
        cells = (entry["statement"], entry["published"], measured_text(entry), entry["verdict"])
        rows.append("| " + " | ".join(table_cell(cell) for cell in cells) + " |")
    return "\n".join(rows)


def what_we_found_text(
    next_steps: Sequence[str] = (), entries: Sequence[Mapping[str, Any]] | None = None
) -> str:
    """The closing section's Markdown: verdict table, one sentence per claim, what to try next."""
    entries = assessed() if entries is None else entries
    parts = [findings_table(entries), ""] if entries else ["This notebook assesses no published claim.", ""]
    parts += [f"- **{entry['id']}** — {finding(entry)}" for entry in entries]
    if next_steps:
        parts += ["", "**What to try next**", ""] + [f"- {step}" for step in next_steps]
    return "\n".join(parts)


def what_we_found(next_steps: Sequence[str] = (), entries: Sequence[Mapping[str, Any]] | None = None):
    """The closing section for display in a notebook (Markdown); see `what_we_found_text`."""
    from IPython.display import Markdown

    return Markdown(what_we_found_text(next_steps, entries))
