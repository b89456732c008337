"""01_rapids_dataframes: ETL timings per step, parity across backends, scaling, Dask, and honest GPU verdicts."""

from __future__ import annotations

import pytest

from helpers.core.claims import NOT_MEASURABLE
from helpers.core.environment import rapids_status
from helpers.rapids.etl import STEPS

STEM = "01_rapids_dataframes"
GPU = rapids_status()["available"]
CLAIMS = ("cudf-etl-tiny-fraction", "cudf-replace-pandas", "cudf-pandas-zero-code")


def test_records_the_required_keys_with_cpu_timings(smoke_run):
    results = smoke_run(STEM).results
    for key in ("etl.rows", "etl.pandas_s", "etl.cudf_s", "etl.speedup", "etl.parity"):
        assert key in results, key
    assert results["etl.rows"] == 100_000 and results["etl.data"] == "synthetic"
    assert results["etl.pandas_s"] > 0
    steps = results["etl.steps.pandas"]
    assert set(steps) == set(STEPS) and all(seconds > 0 for seconds in steps.values())
    assert sum(steps.values()) == pytest.approx(results["etl.pandas_s"]), (
        "one repeat: total is the sum of steps"
    )


def test_parity_is_checked_against_every_backend_that_ran(smoke_run):
    results = smoke_run(STEM).results
    by_backend = results["etl.parity_by_backend"]
    assert by_backend["dask"] is True
    assert results["etl.parity"] is True
    assert results["etl.parity_checked"] == sorted(k for k, v in by_backend.items() if v is not None)
    assert (by_backend["cudf"] is None) == (not GPU)


def test_scaling_covers_the_sizes_and_times_each(smoke_run):
    scaling = smoke_run(STEM).results["etl.scaling"]
    assert [s["rows"] for s in scaling] == [25_000, 50_000, 100_000]
    assert all(s["pandas_s"] > 0 for s in scaling), "timings are reported, never compared in a test"
    assert all((s["speedup"] is None) == (not GPU) for s in scaling)


def test_dask_ran_on_a_local_cluster(smoke_run):
    results = smoke_run(STEM).results
    assert results["etl.dask.workers"] == 2 and results["etl.dask.rows"] == 100_000
    assert results["etl.dask_s"] > 0
    assert (results["etl.dask_cudf_s"] is None) == (not GPU)


@pytest.mark.skipif(GPU, reason="checks the CPU-only behaviour")
def test_without_gpu_the_gpu_half_is_null_and_claims_not_measurable(smoke_run):
    smoke = smoke_run(STEM)
    for key in ("etl.cudf_s", "etl.speedup", "etl.cudf_pandas_s", "etl.cudf_pandas_speedup"):
        assert smoke.results[key] is None, key
    for claim_id in CLAIMS:
        claim = smoke.claim(claim_id)
        assert claim["verdict"] == NOT_MEASURABLE and claim["measured"] is None
        assert rapids_status()["reason"] in claim["reason"]


@pytest.mark.gpu
@pytest.mark.skipif(not GPU, reason="needs cuDF on a CUDA GPU")
def test_with_gpu_cudf_is_timed_and_agrees(smoke_run):
    smoke = smoke_run(STEM)
    results = smoke.results
    assert results["etl.cudf_s"] > 0
    assert results["etl.speedup"] == pytest.approx(results["etl.pandas_s"] / results["etl.cudf_s"])
    assert results["etl.parity_by_backend"]["cudf"] is True
    assert results["etl.parity_by_backend"]["cudf.pandas"] is True
    assert smoke.claim("cudf-etl-tiny-fraction")["measured"] == pytest.approx(results["etl.speedup"])


def test_api_coverage_claims_are_measured_from_the_pinned_release(smoke_run):
    smoke = smoke_run(STEM)
    coverage = smoke.results["coverage.pandas"]
    share = sum(c["covered"] for c in coverage.values()) / sum(c["total"] for c in coverage.values())
    same = smoke.claim("cudf-same-functions")
    assert same["measured"] == pytest.approx(share) and 0 < share < 1
    expected = "reproduced" if share >= 0.95 else "partly reproduced" if share >= 0.75 else "not reproduced"
    assert same["verdict"] == expected
    counterparts = smoke.results["coverage.counterparts"]
    assert set(counterparts) == {"pandas", "scikit-learn", "PyTorch", "Matplotlib"}
    assert counterparts["pandas"]["package"] == "cudf"
    found = sum(c["share"] >= 0.5 for c in counterparts.values())
    claim = smoke.claim("rapids-corresponding-libraries")
    assert claim["measured"] == found and claim["verdict"] == (
        "reproduced" if found == 4 else "not reproduced"
    )
    assert smoke.results["coverage.interop"]["to_dlpack"] is True
