"""What this machine is: CPU, RAM, GPU, library versions, RAPIDS availability and the hosting platform; its
folder-safe name; and the git revision the project's code runs from."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[2]

KEY_LIBRARIES = (
    "numpy",
    "pandas",
    "scikit-learn",
    "torch",
    "transformers",
    "tokenizers",
    "torch-pruning",
    "torchao",
    "onnxruntime",
    "hyperopt",
    "optuna",
    "mlflow",
    "pyspark",
    "dask",
    "papermill",
    "jupyterlab",
    "cudf-cu12",
    "cudf-cu13",
    "cuml-cu12",
    "cuml-cu13",
    "cupy-cuda12x",
    "cupy-cuda13x",
)
# /proc/cpuinfo flags of x86 int8 dot-product instructions; without them, u8×s8 int8 kernels (ONNX Runtime's, for
# one) multiply through 16-bit intermediate sums that can saturate
INT8_DOT_PRODUCT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def library_versions(names: tuple[str, ...] = KEY_LIBRARIES) -> dict[str, str | None]:
    """Installed version of each distribution, None when it is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def unreachable(host: str, port: int, timeout_s: float = 3.0) -> str | None:
    """Why nothing answers at host:port (e.g. 'ConnectionRefusedError: Connection refused'), or None when a TCP
    connection opens within `timeout_s`: one quick look before a client that would retry for minutes."""
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror or error}"
    return None


def cpu_model() -> str:
    """The CPU's model name as the OS reports it."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def int8_dot_product_instructions() -> list[str]:
    """The CPU's int8 dot-product instruction sets (VNNI, AMX) as /proc/cpuinfo lists them; empty without them."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return []
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return [flag for flag in INT8_DOT_PRODUCT_FLAGS if flag in present]
    return []


@cache
def cuda_available() -> bool:
    """True when PyTorch sees at least one usable CUDA GPU."""
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.device_count() > 0)


def _nvidia_driver() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    query = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
    try:
        return subprocess.run(query, capture_output=True, text=True, timeout=20, check=True).stdout.split()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def gpu_info() -> list[dict[str, Any]]:
    """Name, memory, compute capability, CUDA runtime and driver of each visible GPU."""
    if not cuda_available():
        return []
    import torch

    driver = _nvidia_driver()
    gpus = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        gpus.append(
            {
                "name": props.name,
                "memory_bytes": props.total_memory,
                "capability": f"{props.major}.{props.minor}",
                "cuda_runtime": torch.version.cuda,
                "driver": driver,
            }
        )
    return gpus


@cache
def rapids_status() -> dict[str, Any]:
    """Whether cuDF and cuML import and run a tiny computation here, and if not, why."""
    status: dict[str, Any] = {"available": False, "cudf": None, "cuml": None, "reason": ""}
    if not cuda_available():
        status["reason"] = "no CUDA GPU is visible to this process"
        return status
    for name in ("cudf", "cuml"):
        try:
            module = importlib.import_module(name)
        except Exception as error:  # a broken CUDA install raises more than ImportError
            status["reason"] = f"{name} is not importable ({type(error).__name__}: {error})"
            return status
        status[name] = getattr(module, "__version__", "unknown")
    try:
        import cudf

        total = int(cudf.Series([1, 2, 3]).sum())
    except Exception as error:
        status["reason"] = f"cuDF imports but cannot run on this GPU ({type(error).__name__}: {error})"
        return status
    status["available"] = total == 6
    status["reason"] = (
        "cuDF and cuML work on this GPU" if status["available"] else "cuDF returned a wrong sum"
    )
    return status


def hosting_platform() -> str:
    """Where the notebook runs: colab, kaggle, binder, sagemaker or local."""
    if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
        return "colab"
    if "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
        return "kaggle"
    if "BINDER_LAUNCH_HOST" in os.environ or "BINDER_REQUEST" in os.environ:
        return "binder"
    if Path("/opt/ml/metadata/resource-metadata.json").exists() or "SM_CURRENT_HOST" in os.environ:
        return "sagemaker"
    return "local"


def environment_report() -> dict[str, Any]:
    """Everything a reader needs to judge a number measured here."""
    import torch

    gpus = gpu_info()
    return {
        "python": platform.python_version(),
        "os": platform.platform(),
        "platform": hosting_platform(),
        "cpu": {
            "model": cpu_model(),
            "logical_cores": os.cpu_count(),
            "physical_cores": psutil.cpu_count(logical=False),
            "torch_threads": torch.get_num_threads(),
            "int8_instructions": int8_dot_product_instructions(),
        },
        "ram_bytes": psutil.virtual_memory().total,
        "gpus": gpus,
        "gpu": gpus[0]["name"] if gpus else None,
        "rapids": rapids_status(),
        "versions": library_versions(),
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A short human summary of an environment report, one fact a line."""
    cpu = report["cpu"]
    lines = [
        f"CPU: {cpu['model']} ({cpu['logical_cores']} logical cores, torch threads {cpu['torch_threads']})",
        f"RAM: {report['ram_bytes'] / 2**30:.1f} GiB",
    ]
    if report["gpus"]:
        for gpu in report["gpus"]:
            lines.append(
                f"GPU: {gpu['name']}, {gpu['memory_bytes'] / 2**30:.0f} GiB, compute {gpu['capability']}, "
                f"CUDA {gpu['cuda_runtime']}, driver {gpu['driver'] or 'unknown'}"
            )
    else:
        lines.append("GPU: none visible (CPU-only run)")
    rapids = report["rapids"]
    lines.append(f"RAPIDS: {'available' if rapids['available'] else 'not available'} ({rapids['reason']})")
    lines.append(f"Python {report['python']} on {report['os']}, platform: {report['platform']}")
    installed = ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v)
    lines.append(f"Libraries: {installed}")
    return lines


def collection_plan(report: dict[str, Any]) -> list[dict[str, str]]:
    """For each part of the collection, where it will run on this machine and why."""
    gpu = report["gpu"]
    rapids = report["rapids"]
    torch_where = f"GPU ({gpu})" if gpu else "CPU only: no CUDA GPU visible"
    rapids_where = f"GPU ({gpu}) with RAPIDS" if rapids["available"] else f"CPU half only: {rapids['reason']}"
    return [
        {"part": "01–02 RAPIDS dataframes and machine learning", "runs on": rapids_where},
        {"part": "03 hyperparameter search (CPU vs GPU sweep)", "runs on": rapids_where},
        {"part": "04–08 model compression (PyTorch)", "runs on": torch_where},
        {"part": "09–10 ALBERT (PyTorch, transformers)", "runs on": torch_where},
    ]


def rapids_install_hint(report: dict[str, Any]) -> str:
    """One sentence on how to get RAPIDS on this platform."""
    if report["rapids"]["available"]:
        return "RAPIDS is installed and working: nothing to do."
    if not report["gpu"]:
        return (
            "RAPIDS needs an NVIDIA GPU: open this collection on Colab or Kaggle with a GPU runtime, or on a "
            "GPU workstation, then install the RAPIDS extra."
        )
    cuda = (report["gpus"][0]["cuda_runtime"] or "12").split(".")[0]
    extra = "rapids-cu13" if cuda == "13" else "rapids-cu12"
    if report["platform"] in ("colab", "kaggle"):
        return f"Run `pip install -e '.[{extra}]'` in the setup cell, then restart the runtime."
    return f"Install the pip extra with `pip install -e '.[{extra}]'`, or create the conda env: `conda env create -f environment.yml`."


def machine_name(environment: dict[str, Any]) -> str:
    """A short folder-safe name for the hardware: the GPU model (e.g. 'h200', '2x-a100'), else the CPU model and
    its logical cores (e.g. 'intel-xeon-platinum-8480c-2core'; 'cpu-2core' when it is unknown), so that two different
    2-core machines never publish under one name. A model without a number (virtual machines report 'AMD EPYC' for
    several generations) is told apart by its int8 instructions where recorded (`_int8_tag`):
    'amd-epyc-avx512vnni-2core'."""
    gpus = environment.get("gpus") or []
    if gpus:
        model = re.sub(r"\b(nvidia|geforce|tesla)\b", "", gpus[0]["name"].lower())
        slug = re.sub(r"[^a-z0-9]+", "-", model).strip("-") or "gpu"
        return slug if len(gpus) == 1 else f"{len(gpus)}x-{slug}"
    cpu = environment["cpu"]
    model = re.sub(r"\((r|tm)\)|\bcpu\b|@.*$|\b\d+-core processor\b", " ", (cpu.get("model") or "").lower())
    prefix = re.sub(r"[^a-z0-9]+", "-", model).strip("-")[:32].strip("-") or "cpu"
    generation = "" if re.search(r"\d", prefix) else _int8_tag(cpu.get("int8_instructions"))
    return f"{prefix}{generation}-{cpu['logical_cores']}core"


def _int8_tag(instructions: list[str] | None) -> str:
    """'-amx', '-no-vnni' or the VNNI sets themselves ('-avx512vnni', '-avx512vnni-avxvnni': Zen 4 and Zen 5 both
    report 'AMD EPYC') for a CPU's recorded int8 dot-product instructions; '' when none were recorded."""
    if instructions is None:
        return ""
    if "amx_int8" in instructions:
        return "-amx"
    return "".join(f"-{flag.replace('_', '')}" for flag in instructions) if instructions else "-no-vnni"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def read_git_revision() -> dict[str, Any]:
    """The commit the collection's code ran from, and whether (and in how many files) the tree differed from it.

    Only a count of changed files is kept, never their names: a run folder may be published.
    None outside a git checkout of this project."""
    top = _git("rev-parse", "--show-toplevel")
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain")
    if top is None or commit is None or status is None or Path(top.strip()).resolve() != PROJECT_ROOT:
        return {"commit": None, "modified": None, "changed_files": 0}
    changed = sum(1 for line in status.splitlines() if line.strip())
    return {"commit": commit.strip(), "modified": changed > 0, "changed_files": changed}
