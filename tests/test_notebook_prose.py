"""Hand-written Markdown states no number that a run measures: every number in a notebook's Markdown cells is a
published value (the claims tables, the paper's tables), a value of the notebook's profile table, or one of the
method constants listed here for that notebook; everything about this run's numbers is rendered from results."""

from __future__ import annotations

import ast
import functools
import re

import nbformat
import pytest

from helpers.albert.claims import PAPER_TABLE5, PAPER_TABLE5_DOWNSTREAM

from .notebook_runs import NOTEBOOKS_DIR, ROOT

STEMS = sorted(p.stem for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
NUMBER = re.compile(r"(?<![\w.\-/])(\d+(?:[.,]\d+)*)(?![\w/])")
# links, code spans and formulas name things (versions, parameters, shapes); they are not statements of a result
NOT_PROSE = re.compile(r"\(https?://[^)]*\)|`[^`]*`|\$[^$]*\$")

# in every notebook: the blog post's part, the year of the talks, the 95 % intervals, the weaker "partly" bound
COMMON = {"6", "2020", "95", "1.25"}
METHOD_CONSTANTS = {
    "01": {"13", "75"},  # the airline file's numeric features; the API-coverage rule's partly bound
    "02": {
        "13",
        "15",
        "75",
        "6000",
    },  # airline features; KD-tree limit; coverage partly bound; an RTX Pro 6000
    "03": {"13", "14", "24"},  # airline features; the talk's 14 hours against 24 minutes
    "04": {"15"},  # paired timing rounds
    "05": {"1.6", "2.6", "300", "512"},  # torch-pruning and PyTorch versions; the over-fit MLP's size
    "06": {
        "0.25",
        "0.3",
        "8.4",
        "255",
        "512",
    },  # int8's size limit; the MLP's MACs (64·512 + 512·512 + 512·10); the width-1024 block's MACs; uint8 range;
    # the MLP's width
    "07": {"15", "2015"},  # paired timing rounds; Hinton et al.
    "08": {"0.28", "2.9", "359"},  # one test image in points; the PyTorch version; the test images
    "09": {"15", "24", "70", "30000", "30522"},  # MLM rate; layers; partly band; vocabularies
    "10": {
        "15",
        "55",
        "96",
        "125",
    },  # masking rate; the learned check (55 %); the paper's 125 000 steps of 4 096
}


def _normal(text: str) -> str:
    """A number as written, compared by value: '30,000' and '30000.0' are both '30000'."""
    return f"{float(text.replace(',', '')):g}"


def prose_numbers(markdown: str) -> list[str]:
    """The numbers a Markdown cell states in its prose (not in links, code spans or formulas)."""
    return [_normal(m.group(1)) for m in NUMBER.finditer(NOT_PROSE.sub(" ", markdown))]


@functools.cache
def _published() -> frozenset[str]:
    """Numbers of the claims tables (statements and published figures) and of the paper's Table 5."""
    numbers: set[str] = set()
    for line in (ROOT / "docs" / "claims.md").read_text().splitlines():
        cells = line.split(" | ")
        if line.startswith("| ") and len(cells) >= 6:
            numbers |= set(prose_numbers(cells[1] + " " + cells[2]))
    tables = [*PAPER_TABLE5.values.ravel(), *PAPER_TABLE5_DOWNSTREAM.values.ravel()]
    return frozenset(numbers | {n for value in tables for n in prose_numbers(str(value))})


def _profile_values(nb: nbformat.NotebookNode) -> set[str]:
    """Every number in the notebook's profile table (PROFILES = {...})."""
    source = next(c.source for c in nb.cells if c.cell_type == "code" and "PROFILES = {" in c.source)
    return {
        _normal(str(node.value))
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and type(node.value) in (int, float)
    }


def unexplained(nb: nbformat.NotebookNode, stem: str, published: frozenset[str]) -> list[str]:
    """Numbers in the notebook's Markdown that are none of: published, a profile value, a listed constant."""
    allowed = (
        published | _profile_values(nb) | COMMON | METHOD_CONSTANTS.get(stem[:2], set()) | {_normal(stem[:2])}
    )
    cells = [
        c for c in nb.cells if c.cell_type == "markdown" and "fsl-badges" not in c.metadata.get("tags", [])
    ]
    return [n for c in cells for n in prose_numbers(c.source) if n not in allowed]


@pytest.mark.parametrize("stem", STEMS)
def test_markdown_states_no_measured_number(stem):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4)
    stray = unexplained(nb, stem, _published())
    assert not stray, (
        f"{stem}'s Markdown states {sorted(set(stray))}: render numbers of this run from results, or, for a "
        "method constant, list it in METHOD_CONSTANTS with what it is"
    )


def test_a_measured_number_in_prose_is_found_and_markup_is_not():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell('PROFILES = {"seeds": ([0], [0, 1, 2], [0, 1, 2, 3, 4])}'),
            nbformat.v4.new_markdown_cell(
                "With 3 seeds this run reached 87.3 % (`torch 2.9`, $2^{10}$, [x](https://e.org/v1.25))."
            ),
        ]
    )
    assert unexplained(nb, "99_demo", frozenset()) == ["87.3"]
    assert prose_numbers("30,000 and 1.0") == ["30000", "1"]
