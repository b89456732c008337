"""helpers.rapids.etl: inputs, the pipeline on pandas and Dask, parity, the zero-code script and the Dask client."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.datasets import airline
from helpers.datasets.airline import make_airline
from helpers.rapids import claims as rapids_claims
from helpers.rapids import etl


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "flights.parquet"
    make_airline(6000, seed=1, on_gpu=False).to_parquet(path, index=False)
    return path


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FSL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def inputs(source):
    return etl.prepare_inputs(source, 5000)


def test_prepare_inputs_writes_parquet_csv_and_lookup_once(source, inputs):
    assert inputs.rows == 5000
    assert len(pd.read_parquet(inputs.parquet)) == len(pd.read_csv(inputs.csv)) == 5000
    airports = pd.read_csv(inputs.airports)
    flights = pd.read_parquet(inputs.parquet)
    assert set(flights["Origin"]) | set(flights["Dest"]) <= set(airports["airport"])
    assert set(airports["tier"]) <= {"large hub", "medium hub", "small"}
    stamp = inputs.csv.stat().st_mtime_ns
    assert etl.prepare_inputs(source, 5000) == inputs and inputs.csv.stat().st_mtime_ns == stamp
    assert etl.prepare_inputs(source).rows == 6000
    assert etl.prepare_inputs(inputs.csv, 100).rows == 100, "a CSV source works too"


def test_pandas_pipeline_result_and_step_times(inputs, tmp_path):
    result, seconds = etl.run_etl(pd, inputs, tmp_path)
    assert list(seconds) == list(etl.STEPS) and all(s > 0 for s in seconds.values())
    assert result.checks["rows_csv"] == 5000 and 4800 < result.checks["rows_kept"] < 5000
    summary = result.summary
    assert list(summary.columns) == [*etl.SUMMARY_KEYS, "mean_delay", "late_rate", "flights", "mph"]
    assert summary["flights"].sum() == result.checks["rows_kept"]
    assert summary["late_rate"].is_monotonic_decreasing and summary["quarter"].between(1, 4).all()
    written = pd.read_parquet(tmp_path / "flights.parquet")
    assert len(written) == result.checks["rows_kept"] and written["date"].is_monotonic_increasing
    assert (written["date"].dt.dayofweek + 1 == written["DayofWeek"]).all(), "engineered dates are right"


def test_dask_gives_the_same_result_as_pandas(inputs, tmp_path):
    reference, _ = etl.run_etl(pd, inputs, tmp_path / "pandas")
    with etl.dask_client(gpu=False, n_workers=2) as client:
        timing = etl.time_etl(etl.dask_module(gpu=False), inputs, tmp_path / "dask", 0, 1, "dask")
        assert len(client.scheduler_info()["workers"]) == 2
    assert client.status == "closed"
    assert etl.parity(reference, timing.result)
    assert set(timing.steps) == set(etl.STEPS) and timing.total.median > 0


def test_parity_notices_differences(inputs, tmp_path):
    result, _ = etl.run_etl(pd, inputs, tmp_path)
    assert etl.parity(result, etl.EtlResult(result.summary.iloc[::-1].copy(), dict(result.checks)))
    changed = result.summary.copy()
    changed.loc[0, "mean_delay"] += 0.01
    assert not etl.parity(result, etl.EtlResult(changed, result.checks))
    assert not etl.parity(result, etl.EtlResult(result.summary, {**result.checks, "rows_kept": 1}))
    renamed = result.summary.assign(region=result.summary["region"].str.upper())
    assert not etl.parity(result, etl.EtlResult(renamed, result.checks))


def test_time_etl_and_step_table(inputs, tmp_path):
    timing = etl.time_etl(pd, inputs, tmp_path, warmup=0, repeats=2, label="pandas")
    assert len(timing.total.times) == 2
    table = etl.step_table([timing])
    assert list(table.index) == [*etl.STEPS, "total"] and table.loc["total", "pandas"] == timing.total.median
    with pytest.raises(ValueError, match="warmup ≥ 0 and repeats ≥ 1"):
        etl.time_etl(pd, inputs, tmp_path, warmup=0, repeats=0)


def test_zero_code_script_runs_the_same_pipeline_in_a_fresh_process(inputs, tmp_path):
    report = etl.run_zero_code(inputs, tmp_path, accelerator=None, warmup=0, repeats=1)
    assert report["activity"]["active"] is False and report["total"]["median_s"] > 0
    assert set(report["steps"]) == set(etl.STEPS)
    reference, _ = etl.run_etl(pd, inputs, tmp_path / "ref")
    assert etl.parity(reference, etl.EtlResult(pd.DataFrame(report["summary"]), report["checks"]))


def test_zero_code_failure_is_reported(inputs, tmp_path):
    with pytest.raises(ValueError, match="no_such_module"):
        etl.run_zero_code(inputs, tmp_path, accelerator="no_such_module", warmup=0, repeats=1)


def test_claims_are_declared_before_measuring():
    claims = (
        rapids_claims.ETL_TINY_FRACTION,
        rapids_claims.CUDF_DROP_IN,
        rapids_claims.CUDF_PANDAS_ZERO_CODE,
    )
    assert len({c.id for c in claims}) == 3
    assert rapids_claims.ETL_TINY_FRACTION.rule.verdict(12) == "reproduced"
    assert rapids_claims.ETL_TINY_FRACTION.rule.verdict(3) == "partly reproduced"
    assert rapids_claims.CUDF_PANDAS_ZERO_CODE.rule.verdict(0.9) == "not reproduced"
    assert airline.civil_days(pd.Series([1970]), pd.Series([1]), pd.Series([2])).tolist() == [1]
