"""helpers.core.params: profiles resolve, explicit parameters win, bad input fails fast with one clear sentence."""

from __future__ import annotations

import pytest

from helpers.core import params
from helpers.core.params import resolve, resolve_profile

PROFILES = {
    "smoke": {"n_rows": 100, "seeds": [0], "data_path": None, "device": "auto", "alpha": 0.0},
    "cpu": {"n_rows": 10_000, "seeds": [0, 1, 2], "data_path": None, "device": "auto", "alpha": 0.5},
    "gpu": {"n_rows": 1_000_000, "seeds": [0, 1, 2, 3, 4], "data_path": None, "device": "auto", "alpha": 0.5},
}


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(params, "cuda_available", lambda: False)
    monkeypatch.delenv(params.PROFILE_ENV, raising=False)


def test_profile_defaults_and_explicit_values_win(no_gpu):
    p = resolve(PROFILES, "smoke", nonnegative=("alpha",), n_rows=500)
    assert p.n_rows == 500 and p.seeds == [0] and p.profile == "smoke" and p.device == "cpu"


def test_auto_is_cpu_without_gpu_and_env_selects_profile(no_gpu, monkeypatch):
    assert resolve_profile("auto") == "cpu"
    monkeypatch.setenv(params.PROFILE_ENV, "smoke")
    assert resolve_profile("auto") == "smoke"
    assert resolve_profile("cpu") == "cpu", "an explicit profile wins over the environment"


def test_auto_is_gpu_with_gpu(monkeypatch):
    monkeypatch.setattr(params, "cuda_available", lambda: True)
    monkeypatch.delenv(params.PROFILE_ENV, raising=False)
    assert resolve_profile("auto") == "gpu"


@pytest.mark.parametrize(
    ("profile", "given", "message"),
    [
        ("nope", {}, "Unknown profile 'nope': use one of 'smoke', 'cpu', 'gpu', 'auto'."),
        ("gpu", {}, "Profile 'gpu' needs a usable CUDA GPU"),
        ("cpu", {"n_rows": 0}, "Parameter n_rows=0 must be > 0"),
        ("cpu", {"n_rows": -5}, "must be > 0"),
        ("cpu", {"seeds": []}, "seeds is an empty list"),
        ("cpu", {"seeds": [1, -1]}, "Parameter seeds=-1 must be ≥ 0"),
        ("cpu", {"alpha": -0.1}, "alpha=-0.1 must be ≥ 0"),
        ("cpu", {"data_path": "/no/such/file.parquet"}, "does not exist"),
        ("cpu", {"device": "cuda"}, "device='cuda' was asked for but no usable CUDA GPU"),
        ("cpu", {"device": "tpu"}, "Unknown device 'tpu'"),
        ("cpu", {"n_row": 5}, "Unknown parameter(s) n_row; this notebook takes"),
    ],
)
def test_bad_parameters_fail_with_a_clear_sentence(no_gpu, profile, given, message):
    with pytest.raises(ValueError) as error:
        resolve(PROFILES, profile, nonnegative=("alpha",), **given)
    assert message in str(error.value)
    assert str(error.value).endswith(".")


def test_bad_profile_in_environment(no_gpu, monkeypatch):
    monkeypatch.setenv(params.PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match="FSL_PROFILE='fast' is not a profile"):
        resolve_profile("auto")


def test_existing_path_is_accepted_and_params_are_recorded(no_gpu, tmp_path, monkeypatch):
    from helpers.core import results

    monkeypatch.setattr(results, "_results", {})
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    p = resolve(PROFILES, "smoke", nonnegative=("alpha",), data_path=str(data))
    assert p.data_path == str(data)
    assert results.recorded()["params.n_rows"] == 100
    assert results.recorded()["params.profile"] == "smoke"


def test_require():
    params.require(True, "never raised")
    with pytest.raises(ValueError, match="^bad$"):
        params.require(False, "bad")
