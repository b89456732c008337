"""Cloud launch: the badge row (Colab, Kaggle, Binder) and the guarded setup cell after every notebook's title."""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat
from nbformat import NotebookNode

from helpers.collection.outputs import write_notebook

BADGES_TAG = "fsl-badges"
SETUP_TAG = "fsl-setup"
BRANCH = "main"  # the badges open notebooks from this branch, and the setup cell installs its current commit

_GITHUB = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$")

SETUP_TEMPLATE = r"""
# @title Setup for Colab and Kaggle: run this cell first there; anywhere else it does nothing
# Installs this collection at the commit of __REF__ the badges open, then only the dependencies the runtime lacks
# (its torch, ipykernel and ipython are kept) and, on a GPU that can run it, a complete RAPIDS set (see
# helpers/collection/gpu_extra.py). On Kaggle, turn Internet on and pick a GPU first. Stamped by `python -m helpers
# badges`.
def _setup(repository: str, package: str, ref: str) -> None:
    import importlib.metadata
    import json
    import os
    import subprocess
    import sys

    cloud = {"COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE"} & set(os.environ) or "google.colab" in sys.modules
    if not cloud:
        return
    try:
        listed = subprocess.run(
            ["git", "ls-remote", repository, ref], capture_output=True, text=True, timeout=60
        )
        commit = listed.stdout.split()[0] if listed.returncode == 0 and listed.stdout.split() else ""
    except (OSError, subprocess.SubprocessError):
        commit = ""
    if not commit:
        raise RuntimeError(
            f"The setup cannot read which commit {ref} of {repository} is: turn the runtime's Internet on (Kaggle: "
            "Settings, Internet), then run this cell again."
        )
    try:
        origin = json.loads(importlib.metadata.distribution(package).read_text("direct_url.json") or "{}")
    except importlib.metadata.PackageNotFoundError:
        origin = {}
    if origin.get("vcs_info", {}).get("commit_id") == commit:
        print(f"{package} is installed already at commit {commit[:12]} of {ref}.")
        return
    before = {m: sys.modules[m].__version__ for m in ("numpy", "pandas", "torch") if m in sys.modules}
    print(f"Installing {package} at commit {commit[:12]} of {ref} from {repository} (a few minutes)...")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
    if subprocess.run([*pip, f"{package} @ git+{repository}@{commit}"]).returncode != 0:
        raise RuntimeError(
            f"pip could not install {package}: read its message above, then run this cell again."
        )
    importlib.invalidate_caches()
    script = importlib.metadata.distribution(package).locate_file("helpers/collection/gpu_extra.py")
    if subprocess.run([sys.executable, str(script), "--install", package]).returncode != 0:
        raise RuntimeError(
            "The dependencies could not be installed: read the message above, then run this cell again."
        )
    changed = [m for m, v in before.items() if importlib.metadata.version(m) != v]
    if changed:
        print(f"{', '.join(changed)} changed version: restart the session, then run all cells again.")


_setup("__REPOSITORY__", "__PACKAGE__", "__REF__")
"""


@dataclass(frozen=True)
class Repository:
    """The project's GitHub repository and distribution name, as pyproject.toml declares them."""

    url: str
    owner: str
    name: str
    package: str
    root: Path


def repository(pyproject: Path = Path("pyproject.toml")) -> Repository:
    """Read the one repository URL from `[project.urls] Repository` in pyproject.toml."""
    if not pyproject.is_file():
        raise ValueError(f"No pyproject.toml at {pyproject}; run from the project root.")
    project = tomllib.loads(pyproject.read_text())["project"]
    url = project.get("urls", {}).get("Repository", "")
    match = _GITHUB.match(url)
    if not match:
        raise ValueError(
            f"[project.urls] Repository in {pyproject} is {url!r}; Colab, Kaggle and Binder open notebooks from "
            "GitHub, so set it to https://github.com/OWNER/NAME."
        )
    return Repository(
        url.removesuffix("/").removesuffix(".git"),
        match["owner"],
        match["name"],
        project["name"],
        pyproject.resolve().parent,
    )


def badge_row(repo: Repository, path: str) -> str:
    """Markdown for the badge row of the notebook at `path` (relative to the repository root)."""
    blob = f"{repo.owner}/{repo.name}/blob/{BRANCH}/{path}"
    colab = f"https://colab.research.google.com/github/{blob}"
    kaggle = f"https://kaggle.com/kernels/welcome?src=https://github.com/{blob}"
    binder = f"https://mybinder.org/v2/gh/{repo.owner}/{repo.name}/{BRANCH}?labpath={quote(path, safe='')}"
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
        f"[![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]({kaggle}) "
        f"[![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder})\n\n"
        "On Colab or Kaggle, choose a GPU runtime, then run the setup cell below first; on Binder (CPU only) and "
        "on your own machine it does nothing."
    )


def setup_source(repo: Repository) -> str:
    """Source of the guarded setup cell: on Colab/Kaggle only, installs the project at the commit of the branch the
    badges open (BRANCH), and RAPIDS on a GPU that can run it."""
    filled = SETUP_TEMPLATE.replace("__REPOSITORY__", repo.url)
    return filled.replace("__PACKAGE__", repo.package).replace("__REF__", BRANCH).strip("\n")


def _cell(nb: NotebookNode, kind: str, source: str, tag: str) -> NotebookNode:
    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    cell = make(source, metadata={"tags": [tag]})
    if nb.nbformat_minor >= 5:
        cell.id = tag
    else:
        cell.pop("id", None)
    return cell


def title_end(cells: list[NotebookNode]) -> int:
    """Index just after the title cell (the first Markdown cell starting with `# `); 0 when there is none."""
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return index + 1
    return 0


def stamped(nb: NotebookNode, repo: Repository, path: str) -> NotebookNode:
    """A copy of `nb` with the badge row and the setup cell right after its title and summary (older copies of
    both are replaced), so that a reader sees what the notebook is before how to launch it."""
    result = copy.deepcopy(nb)
    ours = (BADGES_TAG, SETUP_TAG)
    old_setup = [c for c in result.cells if SETUP_TAG in c.metadata.get("tags", [])]
    result.cells = [
        c for c in result.cells if not set(c.metadata.get("tags", [])) & set(ours) and c.get("id") not in ours
    ]
    at = title_end(result.cells)
    setup = _cell(result, "code", setup_source(repo), SETUP_TAG)
    # shown collapsed to its title: a form in Colab, a hidden input in JupyterLab
    setup.metadata.update({"cellView": "form", "jupyter": {"source_hidden": True}})
    if old_setup:  # an executed notebook keeps its count: re-stamping an unchanged cell changes nothing
        setup.execution_count = old_setup[0].get("execution_count")
    result.cells[at:at] = [_cell(result, "markdown", badge_row(repo, path), BADGES_TAG), setup]
    return result


def relative_path(notebook: Path, repo: Repository) -> str:
    """The notebook's path inside the repository, with forward slashes (as the badge links need it)."""
    try:
        return notebook.resolve().relative_to(repo.root).as_posix()
    except ValueError:
        raise ValueError(
            f"{notebook} is outside the project at {repo.root}; run from the project root."
        ) from None


def stamp_notebooks(notebooks: list[Path], repo: Repository) -> list[Path]:
    """Stamp badges and setup cell into each notebook, rewriting only those that change; return them."""
    changed = []
    for notebook in notebooks:
        nb = nbformat.read(notebook, as_version=4)
        new = stamped(nb, repo, relative_path(notebook, repo))
        if nbformat.writes(new) != nbformat.writes(nb):
            write_notebook(new, notebook)  # atomically: never half a committed notebook
            changed.append(notebook)
    return changed


def stamp_badges(notebooks_dir: Path = Path("notebooks"), pyproject: Path = Path("pyproject.toml")) -> int:
    """`python -m helpers badges`: stamp every notebook in `notebooks_dir`, print what changed, return 0."""
    from helpers.collection.runner import discover

    repo = repository(pyproject)
    notebooks = discover(notebooks_dir)
    changed = stamp_notebooks(notebooks, repo)
    for notebook in changed:
        print(f"stamped {notebook}")
    print(
        f"{len(notebooks)} notebooks carry the badges and setup cell for {repo.url} ({len(changed)} updated)."
    )
    return 0
