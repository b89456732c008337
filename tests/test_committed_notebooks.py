"""What a reader sees: the committed notebooks hold their figures, finished progress bars, clean outputs, and the
claims that the README's table shows.

These tests read the stored files only (nothing is executed). `FSL_COMMITTED_NOTEBOOKS=/path/to/notebooks` points
them at another folder, e.g. a scratch copy executed with `python -m helpers run --in-place`; the README is the
one beside that folder.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import nbformat
import pytest

from helpers.collection.outputs import WIDGET_VIEW

from .notebook_runs import NOTEBOOKS_DIR

FOLDER = Path(os.environ.get("FSL_COMMITTED_NOTEBOOKS", NOTEBOOKS_DIR))
NOTEBOOKS = sorted(FOLDER.glob("[0-9]*.ipynb"))
FIX = "re-execute with `make notebooks`"
MAX_FOLDER_BYTES = 10 * 1024**2

# A tqdm bar stored before it advanced (`  0%|          | 0/750 [00:00<?, ?it/s]`).
STALE_BAR = re.compile(r"(^|\s)0%\|.*\|\s*0/[1-9]\d*")
ABSOLUTE_PATH = re.compile(
    r"PosixPath\(|WindowsPath\(|(?<![\w.~<>-])/(home|root|work|tmp|usr|opt|var|mnt|Users)/"
)
# Library noise that helpers filters at its source (helpers.core.noise, helpers.hpo.spark); seeing one again means
# a filter stopped matching.
KNOWN_NOISE = {
    "torchao kernel load": re.compile(r"Failed to load .*\.so"),
    "Python warning": re.compile(r"\b(FutureWarning|DeprecationWarning|UserWarning|RuntimeWarning):"),
    "torch C++ log line": re.compile(r"(^|\n)[WEI]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ "),
    "torch profiler log": re.compile(r"USDT:.*profiler_(start|stop)"),
    "Spark log4j": re.compile(r"log4j|NativeCodeLoader|Setting default log level"),
    "MLflow log line": re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARNING) mlflow"),
}


def _outputs(nb: nbformat.NotebookNode):
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            yield index, cell, output


def _texts(output: nbformat.NotebookNode) -> list[str]:
    if output.output_type == "stream":
        return [output.text]
    if output.output_type == "error":
        return ["\n".join(output.traceback)]
    data = output.get("data", {})
    return [v for k, v in data.items() if k.startswith("text/") and isinstance(v, str)]


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request) -> nbformat.NotebookNode:
    return nbformat.read(request.param, as_version=4)


def test_the_folder_holds_notebooks_and_stays_light():
    assert NOTEBOOKS, f"no notebooks in {FOLDER}"
    size = sum(p.stat().st_size for p in NOTEBOOKS)
    assert size < MAX_FOLDER_BYTES, f"{FOLDER} holds {size / 1e6:.1f} MB of notebooks; lower the figures' dpi"


def test_every_cell_that_saves_a_figure_shows_it(notebook):
    missing = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        and "save_figure(" in cell.source
        and not any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
    ]
    assert not missing, f"cells {missing} save a figure but store no image: {FIX} (figures render inline)"


def test_progress_bars_show_their_final_state(notebook):
    stale = []
    for index, _cell, output in _outputs(notebook):
        if WIDGET_VIEW in output.get("data", {}):
            stale.append((index, "a widget bar (GitHub shows its 0% fallback)"))
        for text in _texts(output):
            if "\r" in text:
                stale.append((index, "carriage-return frames"))
            if STALE_BAR.search(text):
                stale.append((index, STALE_BAR.search(text).group(0).strip()))
    assert not stale, f"stale progress output in cells {stale}: {FIX}"


def test_outputs_hold_no_absolute_path(notebook):
    found = [
        (index, ABSOLUTE_PATH.search(text).group(0))
        for index, _cell, output in _outputs(notebook)
        for text in _texts(output)
        if ABSOLUTE_PATH.search(text)
    ]
    assert not found, f"outputs print absolute paths of the machine that ran them: {found}"


def test_outputs_hold_no_known_library_noise(notebook):
    found = [
        (index, name)
        for index, _cell, output in _outputs(notebook)
        for text in _texts(output)
        for name, pattern in KNOWN_NOISE.items()
        if pattern.search(text)
    ]
    assert not found, (
        f"library noise in cells {found}: fix it at its source or in helpers.core.noise, then {FIX}"
    )


def test_outputs_hold_no_error(notebook):
    errors = [
        (index, output.get("ename"))
        for index, _cell, output in _outputs(notebook)
        if output.output_type == "error"
    ]
    assert not errors, f"error outputs in cells {errors}: {FIX}"


MAX_PRINTED_LINES = 80  # text a reader scrolls past; tables, figures and the closing findings are not counted


def test_a_notebook_prints_little_text(notebook):
    printed = sum(len(o.text.splitlines()) for _, _, o in _outputs(notebook) if o.output_type == "stream")
    assert printed <= MAX_PRINTED_LINES, (
        f"the notebook prints {printed} lines of text; show one table or figure per section and keep values "
        "in record() (it prints only with show=True)"
    )


def notebook_claims(path: Path) -> list[tuple[str, str, str]]:
    """(statement, measured, verdict) of the claims table in the notebook's closing "What we found" output."""
    nb = nbformat.read(path, as_version=4)
    rows: list[tuple[str, str, str]] = []
    for output in nb.cells[-1].get("outputs", []) if nb.cells else []:
        for line in output.get("data", {}).get("text/markdown", "").splitlines():
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if len(cells) == 4 and cells[0] != "claim" and not set(cells[0]) <= {"-"}:
                rows.append((cells[0], cells[2], cells[3]))
    return rows


def readme_claims(page: Path) -> dict[str, list[tuple[str, str, str]]]:
    """The full claims table the README links (docs/claims.md): (statement, measured, verdict) per notebook."""
    claims: dict[str, list[tuple[str, str, str]]] = {}
    for line in page.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        if len(cells) == 6 and cells[0] != "Notebook" and not set(cells[0]) <= {"-"}:
            claims.setdefault(cells[0], []).append((cells[1], cells[3], cells[4].strip("*")))
    return claims


def _same_measurement(readme: str, notebook: str) -> bool:
    """Whether two roundings (README: 4 significant figures; pandas: 6 decimals) show the same measured value."""
    if readme == "—":
        return notebook in ("—", "None", "NaN", "")
    numbers = [re.match(r"-?\d+(\.\d+)?(e[-+]?\d+)?", t.strip()) for t in (readme, notebook)]
    if not all(numbers):
        return readme.strip() == notebook.strip()
    a, b = (float(n.group(0)) for n in numbers)
    return math.isclose(a, b, rel_tol=2e-3, abs_tol=1e-6)


def test_readme_claims_table_matches_the_committed_notebooks():
    readme = readme_claims(FOLDER.parent / "docs" / "claims.md")
    for path in NOTEBOOKS:
        shown = notebook_claims(path)
        listed = readme.pop(path.stem, [])
        assert len(shown) == len(listed), (
            f"{path.stem} shows {len(shown)} claims but the README lists {len(listed)}: {FIX}"
        )
        for (statement, measured, verdict), (r_statement, r_measured, r_verdict) in zip(
            shown, listed, strict=True
        ):
            where = f"{path.stem}, claim {r_statement[:60]!r}"
            assert r_statement.startswith(statement.replace("|", "\\|")), f"{where}: statement differs: {FIX}"
            assert r_verdict == verdict, f"{where}: README says {r_verdict}, the notebook {verdict}: {FIX}"
            assert _same_measurement(r_measured, measured), (
                f"{where}: README measured {r_measured}, the notebook {measured}: {FIX}"
            )
    assert not readme, f"the README lists claims of notebooks that do not exist: {sorted(readme)}"
