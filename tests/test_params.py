"""helpers.core.params: profiles resolve, explicit parameters win, bad input fails fast with one clear sentence."""

from __future__ import annotations

import pytest

from helpers.core import params
from helpers.core.params import profile_values, resolve, resolve_profile, undeclared

TABLE = {
    "n_rows": (100, 10_000, 1_000_000),
    "seeds": ([0], [0, 1, 2], [0, 1, 2, 3, 4]),
    "data_path": str,
    "device": "auto",
    "alpha": (0.0, 0.5, 0.5),
    "bf16": (False, False, True),
    "name": "flights",
}


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(params, "cuda_available", lambda: False)
    monkeypatch.delenv(params.PROFILE_ENV, raising=False)


def test_profile_defaults_and_explicit_values_win(no_gpu):
    p = resolve(TABLE, {"profile": "smoke", "n_rows": 500, "alpha": None}, nonnegative=("alpha",))
    assert (
        p.n_rows == 500 and p.seeds == [0] and p.profile == "smoke" and p.device == "cpu" and p.alpha == 0.0
    )


def test_a_tuple_gives_one_value_per_profile_and_anything_else_is_shared():
    assert profile_values(TABLE, "cpu")["seeds"] == [0, 1, 2]
    assert profile_values(TABLE, "gpu")["name"] == "flights"
    with pytest.raises(ValueError, match="must give one value per profile"):
        profile_values({"n": (1, 2)}, "cpu")


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
        ("cpu", {"n_row": 5}, "Unknown parameter(s) n_row: this notebook takes profile, n_rows, seeds"),
        (
            "cpu",
            {"n_rows": "abc"},
            "Parameter n_rows='abc' must be a whole number (e.g. 100); pass -p n_rows 100.",
        ),
        ("cpu", {"n_rows": 2.5}, "Parameter n_rows=2.5 must be a whole number"),
        ("cpu", {"n_rows": True}, "Parameter n_rows=True must be a whole number"),
        ("cpu", {"seeds": 0}, "Parameter seeds=0 must be a list such as [0]"),
        ("cpu", {"seeds": [0, "1"]}, "Parameter seeds holds '1', but its items must each be a whole number"),
        ("cpu", {"alpha": "high"}, "Parameter alpha='high' must be a number"),
        ("cpu", {"bf16": 1}, "Parameter bf16=1 must be True or False"),
        ("cpu", {"name": 7}, "Parameter name=7 must be a string"),
    ],
)
def test_bad_parameters_fail_with_a_clear_sentence(no_gpu, profile, given, message):
    with pytest.raises(ValueError) as error:
        resolve(TABLE, {"profile": profile, **given}, nonnegative=("alpha",))
    assert message in str(error.value)
    assert str(error.value).endswith(".")
    assert "\n" not in str(error.value)


def test_a_float_parameter_accepts_a_whole_number(no_gpu):
    assert resolve(TABLE, {"profile": "cpu", "alpha": 1}, nonnegative=("alpha",)).alpha == 1


def test_undeclared_ignores_the_notebooks_own_names():
    import math

    namespace = {
        "profile": "cpu",
        "n_rows": None,
        "_install": 1,
        "PROFILES": {},
        "math": math,
        "resolve": resolve,
        "In": [],
        "matmul_sise": 64,
    }
    assert undeclared(namespace, TABLE) == ["matmul_sise"]


def test_bad_profile_in_environment(no_gpu, monkeypatch):
    monkeypatch.setenv(params.PROFILE_ENV, "fast")
    with pytest.raises(ValueError, match="FSL_PROFILE='fast' is not a profile"):
        resolve_profile("auto")


def test_existing_path_is_accepted_and_params_are_recorded(no_gpu, tmp_path, monkeypatch):
    from helpers.core import results

    monkeypatch.setattr(results, "_results", {})
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    p = resolve(TABLE, {"profile": "smoke", "data_path": str(data)}, nonnegative=("alpha",))
    assert p.data_path == str(data)
    assert results.recorded()["params.n_rows"] == 100
    assert results.recorded()["params.profile"] == "smoke"


def test_require():
    params.require(True, "never raised")
    with pytest.raises(ValueError, match="^bad$"):
        params.require(False, "bad")
