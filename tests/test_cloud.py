"""Cloud launch: every notebook's title is followed by the badge row and the guarded setup cell, for the one repository."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from urllib.parse import quote

import nbformat
import pytest

from helpers.collection import cloud, gpu_extra
from helpers.collection.cli import main

from .notebook_runs import NOTEBOOKS_DIR, ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))
REPO = cloud.repository(ROOT / "pyproject.toml")
FIX = "run `python -m helpers badges` from the project root to stamp them"


def test_repository_comes_from_pyproject_urls():
    assert REPO.url.startswith("https://github.com/")
    assert REPO.url.endswith(f"/{REPO.owner}/{REPO.name}")
    assert REPO.package == "faster-smaller-lighter"


def test_a_repository_url_outside_github_is_refused(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://gitlab.com/a/b"\n')
    with pytest.raises(ValueError, match=r"set it to https://github.com/OWNER/NAME"):
        cloud.repository(pyproject)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_title_comes_first_then_badges_and_setup_cell_for_the_one_url(notebook):
    nb = nbformat.read(notebook, as_version=4)
    path = cloud.relative_path(notebook, REPO)
    title, badges, setup = nb.cells[:3]
    assert title.cell_type == "markdown" and title.source.startswith("# "), (
        f"{notebook.name}: the first cell must be the title and summary: {FIX}"
    )
    assert cloud.BADGES_TAG in badges.metadata.get("tags", []), f"{notebook.name} has no badge row: {FIX}"
    assert cloud.SETUP_TAG in setup.metadata.get("tags", []), f"{notebook.name} has no setup cell: {FIX}"
    assert setup.source.startswith("# @title ") and setup.metadata.get("cellView") == "form", (
        f"{notebook.name}: the setup cell is not a collapsed Colab form: {FIX}"
    )
    assert setup.metadata.get("jupyter", {}).get("source_hidden"), f"{notebook.name}: setup cell shown: {FIX}"
    links = re.findall(r"\]\((https://[^)]+)\)", badges.source)
    assert [link.split("/")[2] for link in links] == [
        "colab.research.google.com",
        "colab.research.google.com",
        "kaggle.com",
        "kaggle.com",
        "mybinder.org",
        "mybinder.org",
    ], f"{notebook.name}: the badge row must hold Colab, Kaggle and Binder badges: {FIX}"
    repo_path = f"{REPO.owner}/{REPO.name}"
    for target in links[1::2]:
        assert repo_path in target, f"{notebook.name}: badge {target} is not for {REPO.url}: {FIX}"
    linked = [path in links[1], path in links[3], quote(path, safe="") in links[5]]
    assert all(linked), f"{notebook.name}: a badge opens another file: {FIX}"
    call = setup.source.splitlines()[-1]
    assert call == f'_setup("{REPO.url}", "{REPO.package}", "{cloud.BRANCH}")', (
        f"{notebook.name}: setup cell not for {REPO.url} at {cloud.BRANCH}: {FIX}"
    )
    # the setup cell installs the branch the badges open the notebook from
    assert all(f"/{cloud.BRANCH}" in link for link in links[1::2])
    assert not setup.get("outputs"), (
        f"{notebook.name}: the setup cell stores output (it must do nothing locally)"
    )
    stale = cloud.stamped(nb, REPO, path) != nb
    assert not stale, f"{notebook.name}: badges or setup cell are out of date: {FIX}"


def _copy_project(tmp_path, count: int = 2):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "notebooks").mkdir()
    for source in NOTEBOOKS[:count]:
        shutil.copy(source, tmp_path / "notebooks" / source.name)
    return sorted((tmp_path / "notebooks").glob("*.ipynb"))


def test_badges_command_is_idempotent_and_replaces_old_cells(tmp_path, monkeypatch, capsys):
    notebooks = _copy_project(tmp_path)
    nb = nbformat.read(notebooks[0], as_version=4)
    nb.cells = [
        c for c in nb.cells if not {cloud.BADGES_TAG, cloud.SETUP_TAG} & set(c.metadata.get("tags", []))
    ]
    old = cloud.Repository("https://github.com/old/place", "old", "place", REPO.package, tmp_path)
    stale = cloud.stamped(nb, old, "notebooks/x.ipynb")
    stale.cells.append(nbformat.v4.new_markdown_cell("old badges", metadata={"tags": [cloud.BADGES_TAG]}))
    nbformat.write(stale, notebooks[0])
    monkeypatch.chdir(tmp_path)
    assert main(["badges"]) == 0
    assert f"stamped {notebooks[0].relative_to(tmp_path)}" in capsys.readouterr().out
    first = {p: p.read_bytes() for p in notebooks}
    restamped = nbformat.read(notebooks[0], as_version=4)
    at = cloud.title_end(restamped.cells)
    assert at == 1 and [c.id for c in restamped.cells[at : at + 2]] == [cloud.BADGES_TAG, cloud.SETUP_TAG]
    tags = [t for c in restamped.cells for t in c.metadata.get("tags", [])]
    assert tags.count(cloud.BADGES_TAG) == tags.count(cloud.SETUP_TAG) == 1
    assert "github.com/old/place" not in nbformat.writes(restamped)
    assert main(["badges"]) == 0
    assert "(0 updated)" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in notebooks} == first


def test_the_setup_cell_is_formatted_as_the_linter_wants():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--stdin-filename", "setup_cell.py", "-"],
        input=cloud.setup_source(REPO) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_stamping_puts_badges_after_the_title_or_first_without_one():
    title = nbformat.v4.new_markdown_cell("# Title\n\nWhat this notebook measures.")
    code = nbformat.v4.new_code_cell("x = 1")
    nb = nbformat.v4.new_notebook(cells=[title, code])
    tags = [c.metadata.get("tags", [None])[0] for c in cloud.stamped(nb, REPO, "notebooks/00_x.ipynb").cells]
    assert tags == [None, cloud.BADGES_TAG, cloud.SETUP_TAG, None]
    nb.cells = [code]
    tags = [c.metadata.get("tags", [None])[0] for c in cloud.stamped(nb, REPO, "notebooks/00_x.ipynb").cells]
    assert tags == [cloud.BADGES_TAG, cloud.SETUP_TAG, None]


def test_stamping_an_nbformat_4_4_notebook_adds_no_cell_ids():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title")])
    nb.nbformat_minor = 4
    nb.cells[0].pop("id")
    stamped = cloud.stamped(nb, REPO, "notebooks/00_x.ipynb")
    assert all("id" not in c for c in stamped.cells)
    nbformat.validate(stamped)


def test_badges_command_outside_the_project_says_how_to_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["badges"]) == 2
    assert "run from the project root" in capsys.readouterr().err


COMMIT = "0123456789abcdef0123456789abcdef01234567"
SMI = "| NVIDIA-SMI {driver}   Driver Version: {driver}   CUDA Version: {cuda} |"
T4_CUDA12 = (SMI.format(driver="550.54.15", cuda="12.4"), "7.5\n")


class _Cloud:
    """Runs the setup cell's source with a fake platform, GPU driver, git and pip, recording the pip commands; the
    cell's second step (helpers/collection/gpu_extra.py --install) runs in this process, on the same fakes."""

    REQUIRES = [
        "torch>=2.6,<2.14",
        "ipykernel>=6.29,<8",
        "optuna>=4,<6",
        'cudf-cu12>=26.6,<27; extra == "rapids-cu12"',
        'cuml-cu12>=26.6,<27; extra == "rapids-cu12"',
        'cudf-cu13>=26.6,<27; extra == "rapids-cu13"',
        'cuml-cu13>=26.6,<27; extra == "rapids-cu13"',
        'pytest<10,>=8; extra == "dev"',
        "jupyterlab<5,>=4.2; extra == 'lab'",
    ]

    def __init__(
        self,
        monkeypatch,
        env: dict[str, str],
        smi: tuple[str, str] | None,
        installed_at: str | None = None,
        present: dict[str, str] | None = None,
        listed: str = f"{COMMIT}\trefs/heads/{cloud.BRANCH}\n",
        pip_fails: bool = False,
    ):
        for name in ("COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
        versions = {"torch": "1.0", "ipykernel": "1.0", "numpy": "1.0", "pandas": "1.0", **(present or {})}
        versions.update(
            {m: sys.modules[m].__version__ for m in ("numpy", "pandas", "torch") if m in sys.modules}
        )
        if installed_at is not None:
            versions[REPO.package] = "1.0"
        self.pip: list[list[str]] = []
        self.git: list[list[str]] = []
        real_which = shutil.which

        def which(name, *args, **kwargs):
            if name == "nvidia-smi":
                return "/usr/bin/nvidia-smi" if smi is not None else None
            return real_which(name, *args, **kwargs)

        def run(command, **kwargs):
            # the cell's second step, helpers/collection/gpu_extra.py, runs here in-process
            if len(command) > 1 and str(command[1]).endswith("gpu_extra.py"):
                return subprocess.CompletedProcess(command, gpu_extra.main(command[2:]))
            if command[0] == "nvidia-smi":
                return subprocess.CompletedProcess(command, 0, stdout=smi[1] if len(command) > 1 else smi[0])
            if command[0] == "git":
                self.git.append(command)
                return subprocess.CompletedProcess(command, 0 if listed else 128, stdout=listed)
            self.pip.append(command)
            return subprocess.CompletedProcess(command, 1 if pip_fails else 0)

        def version(name):
            if name not in versions:
                raise importlib.metadata.PackageNotFoundError(name)
            return versions[name]

        class Distribution:
            def read_text(self, name):
                assert name == "direct_url.json"
                return json.dumps({"url": REPO.url, "vcs_info": {"vcs": "git", "commit_id": installed_at}})

            def locate_file(self, path):
                return ROOT / path

        monkeypatch.setattr(shutil, "which", which)
        monkeypatch.setattr(subprocess, "run", run)
        monkeypatch.setattr(importlib.metadata, "version", version)
        monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Distribution())
        monkeypatch.setattr(importlib.metadata, "requires", lambda name: list(self.REQUIRES))
        exec(compile(cloud.setup_source(REPO), "setup-cell", "exec"), {"__name__": "__main__"})


CU12 = ["cudf-cu12>=26.6,<27", "cuml-cu12>=26.6,<27"]
CU13 = ["cudf-cu13>=26.6,<27", "cuml-cu13>=26.6,<27"]


@pytest.mark.parametrize(
    ("env", "smi", "rapids", "said"),
    [
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, T4_CUDA12, CU12, "Installing the complete RAPIDS set"),
        (
            {"COLAB_RELEASE_TAG": "x"},
            (SMI.format(driver="580.65.06", cuda="13.0"), "9.0\n"),
            CU13,
            "rapids-cu13",
        ),
        (
            {"COLAB_RELEASE_TAG": "x"},
            (SMI.format(driver="580.65.06", cuda="13.0"), "7.0\n"),
            CU12,
            "rapids-cu12",
        ),
        ({"COLAB_RELEASE_TAG": "release-colab"}, None, [], ""),
        (
            {"KAGGLE_KERNEL_RUN_TYPE": "Batch"},
            (SMI.format(driver="470.82", cuda="11.8"), "7.0\n"),
            [],
            "No RAPIDS",
        ),
        (
            {"KAGGLE_KERNEL_RUN_TYPE": "Batch"},
            (SMI.format(driver="550.54", cuda="12.4"), "6.0\n"),
            [],
            "No RAPIDS",
        ),
    ],
    ids=["kaggle-t4-cuda12", "colab-h100-cuda13", "v100-on-a-cuda13-driver", "colab-cpu", "cuda11", "p100"],
)
def test_setup_cell_installs_the_commit_the_badges_open_and_only_what_the_runtime_lacks(
    monkeypatch, capsys, env, smi, rapids, said
):
    fake = _Cloud(monkeypatch, env, smi)
    assert fake.git == [["git", "ls-remote", REPO.url, cloud.BRANCH]]
    assert len(fake.pip) == 2
    assert fake.pip[0][1:6] == ["-m", "pip", "install", "-q", "--no-deps"]
    assert fake.pip[0][-1] == f"{REPO.package} @ git+{REPO.url}@{COMMIT}"
    # the runtime's torch and ipykernel are kept; what it lacks (optuna, the matching RAPIDS set) is installed,
    # and neither the test tools nor the notebook server
    assert fake.pip[1][5:] == ["optuna>=4,<6", *rapids]
    out = capsys.readouterr().out
    assert f"at commit {COMMIT[:12]} of {cloud.BRANCH}" in out and said in out
    assert out.count("No RAPIDS extra:") == (said == "No RAPIDS") and "changed version" not in out


@pytest.mark.parametrize(
    ("present", "said"),
    [
        ({"cudf-cu12": "25.10.0"}, "The runtime has RAPIDS cudf-cu12 25.10.0, not a complete set"),
        (
            {"cudf-cu12": "26.10.2", "cuml-cu12": "26.10.0"},
            "is a complete matching set, so it is used as it is",
        ),
        ({"cudf-cu13": "26.10.2", "cuml-cu13": "26.10.0"}, "installing beside it would mix releases"),
    ],
    ids=["partial", "complete-matching", "other-cuda"],
)
def test_setup_cell_never_installs_a_mixed_rapids_set(monkeypatch, capsys, present, said):
    fake = _Cloud(monkeypatch, {"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, T4_CUDA12, present=present)
    assert fake.pip[1][5:] == ["optuna>=4,<6"]
    assert capsys.readouterr().out.count(said) == 1


def test_setup_cell_does_nothing_locally_or_when_installed_at_that_commit(monkeypatch, capsys):
    assert _Cloud(monkeypatch, {}, T4_CUDA12).pip == []
    assert capsys.readouterr().out == ""
    assert _Cloud(monkeypatch, {"COLAB_RELEASE_TAG": "x"}, T4_CUDA12, installed_at=COMMIT).pip == []
    assert "is installed already at commit" in capsys.readouterr().out
    moved = _Cloud(monkeypatch, {"COLAB_RELEASE_TAG": "x"}, T4_CUDA12, installed_at="f" * 40)
    assert moved.pip[0][-1] == f"{REPO.package} @ git+{REPO.url}@{COMMIT}"


@pytest.mark.parametrize(
    ("listed", "pip_fails", "sentence"),
    [("", False, "turn the runtime's Internet on"), (f"{COMMIT}\tx\n", True, "pip could not install")],
    ids=["branch-unreadable", "pip-fails"],
)
def test_setup_cell_fails_with_one_sentence(monkeypatch, listed, pip_fails, sentence):
    with pytest.raises(RuntimeError) as failure:
        _Cloud(monkeypatch, {"COLAB_RELEASE_TAG": "x"}, None, listed=listed, pip_fails=pip_fails)
    message = str(failure.value)
    assert sentence in message and message.count(". ") == 0 and message.endswith(".")
