"""environment.yml parses and lists every package the notebooks import; pyproject is the one version source."""

from __future__ import annotations

import ast
import re
import tomllib

import nbformat
import yaml

from .notebook_runs import NOTEBOOKS_DIR, ROOT

STDLIB_AND_LOCAL = {
    "helpers",
    "__future__",
    "sys",
    "os",
    "json",
    "math",
    "time",
    "pathlib",
    "subprocess",
    "random",
    "statistics",
    "dataclasses",
    "functools",
    "itertools",
    "collections",
    "typing",
    "warnings",
    "tempfile",
    "shutil",
    "copy",
    "io",
    "datetime",
    "textwrap",
    "contextlib",
    "inspect",
    "platform",
    "importlib",
    "re",
    "string",
    "glob",
    "gc",
    "operator",
    "hashlib",
    "traceback",
    "threading",
    "IPython",
    "logging",
    "pprint",
    "zipfile",
    "csv",
    "urllib",
    "pickle",
    "uuid",
    "socket",
    "ast",
}
# import name -> distribution name as listed in environment.yml
DISTRIBUTION = {
    "sklearn": "scikit-learn",
    "torch": "pytorch-gpu",
    "torch_pruning": "torch-pruning",
    "cupy": "cudf",
    "yaml": "pyyaml",
    "dask_cudf": "dask-cudf",
    "dask_cuda": "dask-cuda",
    "IPython": "ipykernel",
    "distributed": "distributed",
    "mpl_toolkits": "matplotlib",
}


def environment_packages() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        for spec in dep["pip"] if isinstance(dep, dict) else [dep]:
            spec = spec.strip()
            names.add(spec if spec.startswith("-e ") else re.split(r"[<>=!\s]", spec, maxsplit=1)[0])
    return names


def notebook_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        source = "\n".join(
            c.source for c in nb.cells if c.cell_type == "code" and not c.source.startswith(("%", "!"))
        )
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found.setdefault(module.split(".")[0], set()).add(path.stem)
    return found


def test_environment_yml_parses_with_channels():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"][:3] == ["rapidsai", "conda-forge", "nvidia"]
    assert {"cudf", "cuml", "dask-cudf", "pytorch-gpu", "-e ."} <= environment_packages()


def test_environment_yml_lists_every_package_the_notebooks_import():
    listed = environment_packages()
    missing = {
        DISTRIBUTION.get(module, module.replace("_", "-")): users
        for module, users in notebook_imports().items()
        if module not in STDLIB_AND_LOCAL and DISTRIBUTION.get(module, module.replace("_", "-")) not in listed
    }
    assert not missing, f"add these to environment.yml (package: notebooks importing it): {missing}"


def test_every_environment_package_comments_its_users():
    lines = [
        line for line in (ROOT / "environment.yml").read_text().splitlines() if line.strip().startswith("- ")
    ]
    packages = [
        line
        for line in lines
        if line.strip() not in ("- pip", "- pip:", "- rapidsai", "- conda-forge", "- nvidia")
    ]
    assert all("#" in line for line in packages if "python=" not in line)


def test_pyproject_has_the_extras_and_core_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!\[ ]", d, maxsplit=1)[0] for d in project["dependencies"]}
    assert {
        "papermill",
        "torch",
        "transformers",
        "torch-pruning",
        "torchao",
        "hyperopt",
        "optuna",
        "mlflow",
        "pyspark",
        "tqdm",
        "scikit-learn",
        "pandas",
        "matplotlib",
    } <= names
    extras = project["optional-dependencies"]
    assert {"rapids-cu12", "rapids-cu13", "dev", "lab"} <= set(extras)
    # the notebook server and test tools stay out of what a cloud kernel installs
    assert not names & {"jupyterlab", "pytest", "playwright"} and "jupyterlab>=4.2,<5" in extras["lab"]
    assert all("cu12" in d for d in extras["rapids-cu12"] if d.startswith(("cudf", "cuml")))
