"""The README for a newcomer: its order, and every command and `-p NAME` in it checked against the project."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import re
import shlex

import papermill
import pytest

from helpers.collection.cli import main
from helpers.collection.report import INDEX_END, INDEX_START, README_END, README_START

from .notebook_runs import NOTEBOOKS_DIR, ROOT

README = (ROOT / "README.md").read_text()
RUNNING = (ROOT / "docs" / "running.md").read_text()  # the README's details: commands there are checked too
MAKE_TARGETS = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M))


def code_lines() -> list[str]:
    """Every command-looking line in the README and docs/running.md: lines of fenced blocks and inline code spans,
    comments dropped."""
    text = README + "\n" + RUNNING
    fenced = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    lines = [line.split("  #")[0].strip() for block in fenced for line in block.splitlines()]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [line for line in lines + re.findall(r"`([^`\n]+)`", prose) if line]


def _tokens(line: str) -> list[str]:
    return shlex.split(line.replace("[", " ").replace("]", " "))


def _declared(notebook: str) -> set[str]:
    return set(papermill.inspect_notebook(str(ROOT / notebook)))


def test_readme_order_is_what_it_is_then_commands_then_index_then_claims():
    headings = [h for h in re.findall(r"^## (.+)$", README, flags=re.M)]
    assert headings[:3] == ["Two commands", "The notebooks", "The claims"], headings
    assert (
        README.index(INDEX_START)
        < README.index(INDEX_END)
        < README.index(README_START)
        < README.index(README_END)
    )
    assert "make run" in README.split("## Two commands", 1)[1].split("##", 1)[0]


def test_every_make_target_in_the_readme_exists():
    used = {m for line in code_lines() for m in re.findall(r"(?:^|&&\s*|;\s*)make ([a-z][\w-]*)", line)}
    assert used, "the README names no make target"
    assert used <= MAKE_TARGETS, (
        f"the README uses make targets the Makefile lacks: {sorted(used - MAKE_TARGETS)}"
    )


def test_every_helpers_command_and_option_in_the_readme_exists():
    commands = [
        line[line.index("python -m helpers") :] for line in code_lines() if "python -m helpers" in line
    ]
    assert commands, "the README shows no `python -m helpers` command"
    for command in commands:
        tokens = _tokens(command)[3:]
        if not tokens:
            continue
        help_text = io.StringIO()
        with contextlib.redirect_stdout(help_text), pytest.raises(SystemExit) as done:
            main([tokens[0], "--help"])
        assert done.value.code == 0, f"README command {command!r}: `{tokens[0]}` is not a subcommand"
        for option in (t for t in tokens[1:] if t.startswith("-")):
            assert re.search(rf"(^|[\s,]){re.escape(option.split('=')[0])}\b", help_text.getvalue()), (
                f"README command {command!r}: `{tokens[0]}` has no option {option}"
            )


def test_every_papermill_parameter_in_the_readme_is_declared_by_its_notebook():
    commands = [line for line in code_lines() if "papermill" in line and ".ipynb" in line]
    assert commands, "the README shows no papermill command"
    for command in commands:
        tokens = _tokens(command)
        notebook = next(t for t in tokens if t.endswith(".ipynb"))
        assert (ROOT / notebook).exists(), f"README command {command!r}: no notebook {notebook}"
        names = [
            tokens[i + 1]
            for i, t in enumerate(tokens[:-1])
            if t in ("-p", "--parameters", "-r", "--parameters_raw")
        ]
        undeclared = set(names) - _declared(notebook)
        assert not undeclared, (
            f"README command {command!r} passes {sorted(undeclared)}, which {notebook} does not declare "
            f"(it declares {sorted(_declared(notebook))})"
        )


def test_every_runner_parameter_in_the_readme_is_declared_by_a_notebook_it_runs():
    for command in (line for line in code_lines() if "python -m helpers run" in line and " -p " in line):
        tokens = _tokens(command)
        only = tokens[tokens.index("--only") + 1] if "--only" in tokens else "*"
        notebooks = [
            p
            for p in sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
            if any(fnmatch.fnmatch(p.name, g) or fnmatch.fnmatch(p.stem, g) for g in only.split(","))
        ]
        declared = set().union(*(_declared(str(p.relative_to(ROOT))) for p in notebooks))
        names = {tokens[i + 1].split("=")[0] for i, t in enumerate(tokens[:-1]) if t == "-p"}
        assert names <= declared, (
            f"README command {command!r}: no notebook it runs declares {sorted(names - declared)}"
        )


def test_the_readme_is_short_and_every_page_it_links_exists():
    assert len(README.splitlines()) < 200, "keep the README under 200 lines; details go to docs/running.md"
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if not link.startswith("http")]
    assert {"docs/running.md", "docs/claims.md", "docs/comparison.md"} <= set(local)
    assert all((ROOT / link).exists() for link in local), [
        link for link in local if not (ROOT / link).exists()
    ]
