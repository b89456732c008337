"""Cloud launch: the badge row (Colab, Kaggle, Binder) and the guarded setup cell after every notebook's title."""

from __future__ import annotations

import copy
import inspect
import re
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat
from nbformat import NotebookNode

from helpers.collection import gpu_extra

BADGES_TAG = "fsl-badges"
SETUP_TAG = "fsl-setup"
BRANCH = "main"

_GITHUB = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$")

SETUP_TEMPLATE = r"""
# Setup for Colab and Kaggle: installs this collection at the version this notebook belongs to, plus only the
# dependencies the runtime lacks (its torch, ipykernel and ipython are kept), and the RAPIDS extra when the GPU
# and driver can run it. Anywhere else (your machine, Binder, CI) it does nothing.
# On Kaggle, turn Internet on and pick a GPU accelerator first. Stamped by `python -m helpers badges`.
def _install_on_cloud(repository: str, package: str, ref: str) -> None:
    import importlib
    import importlib.metadata
    import os
    import re
    import shutil
    import subprocess
    import sys

__CHOOSE__
    cloud = {"COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE"} & set(os.environ) or "google.colab" in sys.modules
    if not cloud:
        return
    try:
        print(f"{package} {importlib.metadata.version(package)} is installed already.")
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    extra = ""
    smi = shutil.which("nvidia-smi")
    if smi:
        report = subprocess.run([smi], capture_output=True, text=True).stdout
        query = [smi, "--query-gpu=compute_cap", "--format=csv,noheader"]
        extra, why = choose(report, subprocess.run(query, capture_output=True, text=True).stdout)
        print(why[0].upper() + why[1:] + ".")
    before = {m: sys.modules[m].__version__ for m in ("numpy", "pandas", "torch") if m in sys.modules}
    source = f"git+{repository}" + (f"@{ref}" if ref else "")
    print(f"Installing {package} from {source} (a few minutes)...")
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", f"{package} @ {source}"], check=True)
    importlib.invalidate_caches()

    def missing(requirement: str) -> bool:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker and re.findall(r"extra\s*==\s*['\"]([^'\"]+)", marker) != [extra]:
            return False
        try:
            importlib.metadata.version(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip()).group(0))
            return False  # the runtime's own copy is kept, whatever its version
        except importlib.metadata.PackageNotFoundError:
            return True

    lacking = [r for r in importlib.metadata.requires(package) or [] if missing(r)]
    if lacking:
        subprocess.run([*pip, *[r.partition(";")[0].strip() for r in lacking]], check=True)
    importlib.invalidate_caches()
    changed = [m for m, v in before.items() if importlib.metadata.version(m) != v]
    if changed:
        print(f"{', '.join(changed)} changed version: restart the session, then run all cells again.")


_install_on_cloud(
    repository="__REPOSITORY__",
    package="__PACKAGE__",
    ref="__REF__",
)
"""


@dataclass(frozen=True)
class Repository:
    """The project's GitHub repository and distribution name, as pyproject.toml declares them."""

    url: str
    owner: str
    name: str
    package: str
    root: Path
    ref: str = ""  # the git tag the setup cell installs (v<version>); empty: the default branch


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
        f"v{project['version']}",
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
    """Source of the guarded setup cell: installs the project (and RAPIDS on a GPU) on Colab/Kaggle only."""
    choose = textwrap.indent(inspect.getsource(gpu_extra.choose), "    ")
    choose = choose.replace("MIN_CAPABILITY", repr(gpu_extra.MIN_CAPABILITY))
    filled = SETUP_TEMPLATE.replace("__CHOOSE__", choose).replace("__REPOSITORY__", repo.url)
    return filled.replace("__PACKAGE__", repo.package).replace("__REF__", repo.ref).strip("\n")


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
            nbformat.write(new, notebook)
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
