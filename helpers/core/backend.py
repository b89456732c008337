"""One switch between the CPU stack (pandas + scikit-learn) and the GPU stack (cuDF + cuML) with the same API."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from helpers.core import environment

BACKENDS = ("cpu", "gpu")


@dataclass(frozen=True)
class Backend:
    """A dataframe module and the estimators the RAPIDS notebooks use, all from one stack."""

    name: str
    df: ModuleType
    RandomForestClassifier: type
    LogisticRegression: type
    KMeans: type
    KNeighborsClassifier: type
    PCA: type
    UMAP: type | None
    train_test_split: Callable[..., Any]
    accuracy_score: Callable[..., float]

    @property
    def label(self) -> str:
        """Library names for tables and plots, e.g. 'pandas + scikit-learn'."""
        return "pandas + scikit-learn" if self.name == "cpu" else "cuDF + cuML"

    @staticmethod
    def to_pandas(obj: Any) -> Any:
        """A cuDF frame or series as pandas; pandas objects and arrays are returned unchanged."""
        return obj.to_pandas() if hasattr(obj, "to_pandas") else obj

    @staticmethod
    def to_numpy(obj: Any) -> np.ndarray:
        """Any frame, series or array (pandas, cuDF, NumPy, CuPy) as a host NumPy array."""
        if hasattr(obj, "get") and type(obj).__module__.startswith("cupy"):
            return obj.get()
        if hasattr(obj, "to_numpy"):
            return obj.to_numpy()
        return np.asarray(obj)


def gpu_unavailable_message(reason: str) -> str:
    """One sentence: why the GPU backend cannot be used and how to get it."""
    return (
        f"The GPU backend needs cuDF and cuML, but {reason}; get them with `pip install -e '.[rapids-cu12]'` "
        "(or '.[rapids-cu13]' for CUDA 13), with the conda env from environment.yml "
        "(`conda env create -f environment.yml`), or by opening the notebook on a Colab or Kaggle GPU runtime."
    )


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        return None


def _cpu() -> Backend:
    import pandas
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    return Backend(
        "cpu",
        pandas,
        RandomForestClassifier,
        LogisticRegression,
        KMeans,
        KNeighborsClassifier,
        PCA,
        _optional("umap", "UMAP"),
        train_test_split,
        accuracy_score,
    )


def _gpu() -> Backend:
    import cudf
    from cuml.cluster import KMeans
    from cuml.decomposition import PCA
    from cuml.ensemble import RandomForestClassifier
    from cuml.linear_model import LogisticRegression
    from cuml.manifold import UMAP
    from cuml.metrics import accuracy_score
    from cuml.model_selection import train_test_split
    from cuml.neighbors import KNeighborsClassifier

    return Backend(
        "gpu",
        cudf,
        RandomForestClassifier,
        LogisticRegression,
        KMeans,
        KNeighborsClassifier,
        PCA,
        UMAP,
        train_test_split,
        accuracy_score,
    )


def available_backends() -> list[str]:
    """The backends usable here: always 'cpu', plus 'gpu' when cuDF and cuML work on a CUDA GPU."""
    return ["cpu", "gpu"] if environment.rapids_status()["available"] else ["cpu"]


def get_backend(name: str) -> Backend:
    """The 'cpu' (pandas + scikit-learn) or 'gpu' (cuDF + cuML) backend; ValueError saying why when unusable."""
    if name not in BACKENDS:
        raise ValueError(
            f"Unknown backend {name!r}: use 'cpu' (pandas + scikit-learn) or 'gpu' (cuDF + cuML)."
        )
    if name == "cpu":
        return _cpu()
    status = environment.rapids_status()
    if not status["available"]:
        raise ValueError(gpu_unavailable_message(status["reason"]))
    return _gpu()
