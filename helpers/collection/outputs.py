"""Tidy an executed notebook for readers of the stored file: finished progress bars, no carriage-return frames.

In JupyterLab tqdm draws live widget bars. A stored notebook cannot run them: GitHub and nbviewer show the text
fallback captured when each bar was created (`0%| | 0/750`). The runner therefore replaces every progress widget
by the text of its final state (read from the widget state that papermill records), drops bars that closed
themselves (`leave=False`), keeps only the last frame of carriage-return updates in text streams, and then drops
the widget state itself (random ids that would churn every diff).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from tqdm.std import Bar

from helpers.core.results import write_text_atomic

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_MODEL_REF = re.compile(r"^IPY_MODEL_(\w+)$")
_BAR_WIDTH = 10


def _ref(value: Any) -> str | None:
    match = _MODEL_REF.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def _plain(text: str) -> str:
    return html.unescape(text).replace("\u2007", " ").strip()


def progress_text(models: dict[str, Any], model_id: str) -> str | None:
    """The final text of a tqdm notebook bar (`desc: 100%|██████████| 750/750 [00:29<00:00, 25.6it/s]`);
    '' for a bar that hid itself when it closed; None when `model_id` is not a tqdm bar."""
    box = models.get(model_id, {}).get("state", {})
    children = [models.get(_ref(c) or "", {}) for c in box.get("children", [])]
    names = [c.get("model_name") for c in children]
    if names != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    layout = models.get(_ref(box.get("layout")) or "", {}).get("state", {})
    if layout.get("visibility") == "hidden" or box.get("visible") is False:
        return ""
    left, bar, right = (c.get("state", {}) for c in children)
    total = bar.get("max") or 0
    fraction = min(max(bar.get("value", 0) / total, 0.0), 1.0) if total else 0.0
    drawn = format(Bar(fraction, _BAR_WIDTH, charset=Bar.UTF), "")
    return f"{_plain(left.get('value', ''))}|{drawn}| {_plain(right.get('value', ''))}".strip()


def collapse_carriage_returns(text: str) -> str:
    """Keep, on each line, only what was written after its last carriage return (what a terminal shows)."""
    lines = text.split("\n")
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines)


def _tidy_output(output: NotebookNode, models: dict[str, Any]) -> NotebookNode | None:
    if output.get("output_type") == "stream":
        output["text"] = collapse_carriage_returns(output.get("text", ""))
        return output if output["text"] else None
    data = output.get("data", {})
    if WIDGET_VIEW not in data:
        return output
    text = progress_text(models, data[WIDGET_VIEW].get("model_id", ""))
    if text == "":
        return None
    data.pop(WIDGET_VIEW)
    if text is not None:
        data["text/plain"] = text
    return output if data else None


def _stream(output: NotebookNode) -> str | None:
    return output.get("name") if output.get("output_type") == "stream" else None


def _merge_streams(outputs: list[NotebookNode]) -> list[NotebookNode]:
    """Join consecutive outputs of the same stream (a text bar writes each frame as its own output)."""
    merged: list[NotebookNode] = []
    for output in outputs:
        if merged and _stream(output) and _stream(output) == _stream(merged[-1]):
            merged[-1]["text"] += output.get("text", "")
        else:
            merged.append(output)
    return merged


def tidy(nb: NotebookNode) -> NotebookNode:
    """Finish progress bars and collapse carriage returns in `nb`'s outputs (in place); drop the widget state."""
    widgets = nb.metadata.pop("widgets", {})
    models = widgets.get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tidied = (_tidy_output(o, models) for o in _merge_streams(cell.get("outputs", [])))
        cell.outputs = [o for o in tidied if o is not None]
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write a notebook as nbformat does, atomically: an interrupt or a full disk never leaves half a notebook."""
    text = nbformat.writes(nb)
    write_text_atomic(path, text if text.endswith("\n") else text + "\n")


def tidy_file(path: Path) -> None:
    """Tidy the executed notebook at `path` in place."""
    write_notebook(tidy(nbformat.read(path, as_version=4)), path)
