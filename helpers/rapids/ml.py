"""The same estimators through scikit-learn and cuML on the same airline data: fit/predict times and quality."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.backend import Backend
from helpers.core.benchmark import Timing, measure
from helpers.datasets.airline import FEATURES, TARGET
from helpers.rapids.zero_code import launch


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator of the comparison: its class on the backend, shared parameters and how quality is scored."""

    name: str
    cls: str
    params: dict[str, Any]
    metric: str  # accuracy, inertia_per_row or explained_variance
    scaled: bool  # fit on standardised features
    subsample: (
        bool  # fit on the first `slow_rows` training rows and score on the first `query_rows` test rows
    )
    tolerance: float  # |cpu score − gpu score| allowed (relative for inertia)


SPECS: dict[str, EstimatorSpec] = {
    spec.name: spec
    for spec in (
        EstimatorSpec(
            "random_forest",
            "RandomForestClassifier",
            {"n_estimators": 50, "max_depth": 12},
            "accuracy",
            False,
            True,
            0.02,
        ),
        EstimatorSpec(
            "logistic_regression", "LogisticRegression", {"max_iter": 300}, "accuracy", True, False, 0.01
        ),
        EstimatorSpec(
            "kmeans", "KMeans", {"n_clusters": 8, "n_init": 1}, "inertia_per_row", True, False, 0.05
        ),
        EstimatorSpec("knn", "KNeighborsClassifier", {"n_neighbors": 5}, "accuracy", True, True, 0.02),
        EstimatorSpec("pca", "PCA", {"n_components": 5}, "explained_variance", True, False, 0.01),
        EstimatorSpec("umap", "UMAP", {"n_components": 2}, "none", True, True, 0.0),
    )
}
# UMAP is left unseeded on both stacks: a random_state makes umap-learn run single-threaded and cuML take its
# deterministic (slower) path, the documented price of reproducibility; its embedding is not scored anyway.
# cuML 26.10's PCA takes no random_state (tests/test_rapids_api.py), so PCA is unseeded on both stacks too.
_SEEDED = {"RandomForestClassifier", "KMeans"}
_PARALLEL = {"RandomForestClassifier", "KNeighborsClassifier", "UMAP"}
# cuML's brute-force k-NN `fit` only stores the rows, scikit-learn's `algorithm='auto'` builds a KD-tree there: the
# comparable work is fit plus the query, so that is what the fit timing of these estimators covers.
_FIT_WITH_QUERY = {"KNeighborsClassifier"}
# The settings stated beside the timings, when the estimator has them (defaults included).
_SETTINGS = (
    "n_estimators",
    "max_depth",
    "n_bins",
    "n_streams",
    "solver",
    "max_iter",
    "n_clusters",
    "init",
    "n_init",
    "n_neighbors",
    "algorithm",
    "n_components",
    "svd_solver",
    "n_jobs",
    "random_state",
)


@dataclass
class MLData:
    """Train/test arrays (float32 features, int32 labels), raw and standardised, split once on the host."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    slow_rows: int
    query_rows: int

    @property
    def xs_train(self) -> np.ndarray:
        """Training features standardised with the training mean and spread."""
        return ((self.x_train - self._mean) / self._std).astype(np.float32)

    @property
    def xs_test(self) -> np.ndarray:
        """Test features standardised with the training mean and spread."""
        return ((self.x_test - self._mean) / self._std).astype(np.float32)

    @property
    def _mean(self) -> np.ndarray:
        return self.x_train.mean(axis=0)

    @property
    def _std(self) -> np.ndarray:
        return self.x_train.std(axis=0) + 1e-6


def load_ml_data(
    path: Path, n_rows: int, test_rows: int, slow_rows: int, query_rows: int, seed: int
) -> MLData:
    """Up to `n_rows` training and `test_rows` test rows of the airline file at `path`, shuffled with `seed`."""
    frame = (
        pd.read_parquet(path, columns=[*FEATURES, TARGET]) if path.suffix == ".parquet" else pd.read_csv(path)
    )
    take = min(len(frame), n_rows + test_rows)
    order = np.random.default_rng(seed).permutation(len(frame))[:take]
    x = frame[FEATURES].to_numpy(dtype=np.float32)[order]
    y = frame[TARGET].to_numpy(dtype=np.int32)[order]
    n_test = min(test_rows, take // 5)
    return MLData(
        x[n_test:], x[:n_test], y[n_test:], y[:n_test], min(slow_rows, take - n_test), min(query_rows, n_test)
    )


def available_specs(backends: list[Backend]) -> tuple[list[EstimatorSpec], dict[str, str]]:
    """The estimators every backend provides, and for the others why they are left out."""
    keep, skipped = [], {}
    for spec in SPECS.values():
        missing = [b.name for b in backends if getattr(b, spec.cls) is None]
        if missing:
            skipped[spec.name] = (
                f"{spec.cls} is not installed for the {', '.join(missing)} backend (umap-learn)"
            )
        else:
            keep.append(spec)
    return keep, skipped


def make_estimator(backend: Backend, spec: EstimatorSpec, seed: int) -> Any:
    """The spec's estimator on `backend`: the same hyperparameters on both stacks, each library's fast settings
    (every core for scikit-learn where it has `n_jobs`; UMAP unseeded, so neither stack is forced serial)."""
    params = dict(spec.params)
    if spec.cls in _SEEDED:
        params["random_state"] = seed
    if backend.name == "cpu" and spec.cls in _PARALLEL:
        params["n_jobs"] = -1
    return getattr(backend, spec.cls)(**params)


def _arrays(backend: Backend, data: MLData, spec: EstimatorSpec) -> tuple[Any, Any, Any, Any]:
    x_train, x_test = (data.xs_train, data.xs_test) if spec.scaled else (data.x_train, data.x_test)
    y_train, y_test = data.y_train, data.y_test
    if spec.subsample:
        x_train, y_train = x_train[: data.slow_rows], y_train[: data.slow_rows]
        x_test, y_test = x_test[: data.query_rows], y_test[: data.query_rows]
    if backend.name == "gpu":
        import cupy

        return cupy.asarray(x_train), cupy.asarray(x_test), cupy.asarray(y_train), y_test
    return x_train, x_test, y_train, y_test


def score(
    backend: Backend, spec: EstimatorSpec, model: Any, x_train: Any, x_test: Any, y_test: np.ndarray
) -> float | None:
    """The spec's quality number: test accuracy, inertia per training row, or explained variance ratio."""
    if spec.metric == "accuracy":
        return float(np.mean(backend.to_numpy(model.predict(x_test)) == y_test))
    if spec.metric == "inertia_per_row":
        return float(model.inertia_) / len(x_train)
    if spec.metric == "explained_variance":
        return float(np.sum(backend.to_numpy(model.explained_variance_ratio_)))
    return None


def benchmark_estimator(
    backend: Backend, spec: EstimatorSpec, data: MLData, seed: int, warmup: int, repeats: int
) -> dict[str, Any]:
    """Fit (and predict, for classifiers) `warmup` + `repeats` times; median times, spreads, rows, score, the
    estimator's settings and what the fit timing covers (fit plus query for k-NN, whose brute-force fit is a copy)."""
    x_train, x_test, y_train, y_test = _arrays(backend, data, spec)
    model = make_estimator(backend, spec, seed)
    fit_args = (x_train, y_train) if spec.metric == "accuracy" else (x_train,)
    with_query = spec.cls in _FIT_WITH_QUERY
    fit = measure(
        (lambda: model.fit(*fit_args).predict(x_test)) if with_query else (lambda: model.fit(*fit_args)),
        warmup=warmup,
        repeats=repeats,
    )
    predict: Timing | None = None
    if spec.metric == "accuracy":
        predict = measure(lambda: model.predict(x_test), warmup=warmup, repeats=repeats)
    params = model.get_params()
    return {
        "fit": fit,
        "predict": predict,
        "score": score(backend, spec, model, x_train, x_test, y_test),
        "train_rows": int(len(x_train)),
        "timed": f"fit + query of {len(x_test):,} rows" if with_query else "fit",
        "settings": ", ".join(f"{k}={params[k]}" for k in _SETTINGS if k in params),
    }


def scores_agree(spec: EstimatorSpec, cpu_score: float | None, gpu_score: float | None) -> bool | None:
    """Whether the two stacks' quality numbers are within the spec's tolerance (None when one is missing)."""
    if cpu_score is None or gpu_score is None:
        return None
    if spec.metric == "inertia_per_row":
        return abs(gpu_score - cpu_score) <= spec.tolerance * abs(cpu_score)
    return abs(gpu_score - cpu_score) <= spec.tolerance


def geometric_mean(values: list[float]) -> float | None:
    """Geometric mean of positive numbers (None for an empty list)."""
    return float(np.exp(np.mean(np.log(values)))) if values else None


def run_accel(
    data: MLData,
    out_dir: Path,
    specs: list[str],
    seed: int,
    accelerator: str | None,
    warmup: int,
    repeats: int,
    timeout_s: float = 3600,
) -> dict[str, Any]:
    """Run the scikit-learn fits in a fresh process, under `python -m cuml.accel` when `accelerator` is
    'cuml.accel' (it must be installed before scikit-learn is imported), and return its report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = out_dir / "ml_data.npz"
    np.savez(arrays, x_train=data.x_train, x_test=data.x_test, y_train=data.y_train, y_test=data.y_test)
    args = {
        "arrays": str(arrays),
        "specs": specs,
        "seed": seed,
        "slow_rows": data.slow_rows,
        "query_rows": data.query_rows,
        "warmup": warmup,
        "repeats": repeats,
    }
    script = Path(__file__).with_name("ml_zero_code.py")
    return launch(script, args, out_dir / "accel.json", accelerator, timeout_s)
