"""helpers.core.backend: the CPU/GPU switch, its estimators, converters and the message when RAPIDS is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core import backend, environment
from helpers.core.backend import available_backends, get_backend


@pytest.fixture
def no_rapids(monkeypatch):
    reason = "cudf is not importable (ModuleNotFoundError: No module named 'cudf')"
    monkeypatch.setattr(environment, "rapids_status", lambda: {"available": False, "reason": reason})
    return reason


def test_cpu_backend_is_pandas_and_scikit_learn():
    cpu = get_backend("cpu")
    assert cpu.name == "cpu" and cpu.df is pd
    assert cpu.RandomForestClassifier.__module__.startswith("sklearn.")
    for estimator in (cpu.LogisticRegression, cpu.KMeans, cpu.KNeighborsClassifier, cpu.PCA):
        assert estimator.__module__.startswith("sklearn.")
    x_train, x_test, y_train, y_test = cpu.train_test_split(
        np.arange(20).reshape(10, 2), np.arange(10) % 2, test_size=0.3, random_state=0
    )
    assert len(x_train) == 7 and len(x_test) == 3
    assert cpu.accuracy_score([0, 1, 1], [0, 1, 0]) == pytest.approx(2 / 3)


def test_converters_accept_pandas_and_numpy():
    frame = pd.DataFrame({"a": [1, 2]})
    assert backend.Backend.to_pandas(frame) is frame
    assert backend.Backend.to_numpy(frame["a"]).tolist() == [1, 2]
    assert backend.Backend.to_numpy([1.5]).dtype == np.float64


def test_unknown_backend_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"Unknown backend 'tpu': use 'cpu'"):
        get_backend("tpu")


def test_gpu_without_rapids_says_why_and_how_to_fix(no_rapids):
    with pytest.raises(ValueError) as error:
        get_backend("gpu")
    message = str(error.value)
    assert no_rapids in message
    assert ".[rapids-cu12]" in message and ".[rapids-cu13]" in message
    assert "environment.yml" in message and "Colab" in message
    assert message.count(". ") == 0, "the message is one sentence"
    assert available_backends() == ["cpu"]


def test_available_backends_follow_rapids_status():
    expected = ["cpu", "gpu"] if environment.rapids_status()["available"] else ["cpu"]
    assert available_backends() == expected


@pytest.mark.gpu
@pytest.mark.skipif(not environment.rapids_status()["available"], reason="cuDF/cuML are not usable here")
def test_gpu_backend_is_cudf_and_cuml():
    gpu = get_backend("gpu")
    assert gpu.df.__name__ == "cudf"
    assert gpu.RandomForestClassifier.__module__.startswith("cuml.")
    series = gpu.df.Series([1, 2, 3])
    assert gpu.to_pandas(series).tolist() == [1, 2, 3]
    assert gpu.to_numpy(series).tolist() == [1, 2, 3]
