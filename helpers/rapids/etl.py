"""One ETL pipeline written once against a dataframe module (pandas, cuDF or Dask), timed step by step.

The pipeline reads the flights from Parquet and from CSV, filters them, engineers date and categorical features,
joins an airport lookup table, aggregates by region, hub tier and quarter, sorts, and writes Parquet. Every call
goes through the module handed in (`xdf.read_parquet`, `xdf.to_datetime`, …) and frame methods shared by pandas,
cuDF and Dask, so the same code runs on each backend; Dask steps are persisted so that each step's time is real.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.benchmark import Timing, measure
from helpers.core.cache import verified
from helpers.core.results import cache_dir
from helpers.datasets.airline import civil_days
from helpers.rapids.zero_code import launch

STEPS = ("read_parquet", "read_csv", "filter", "features", "join", "groupby", "sort", "write_parquet")
SUMMARY_KEYS = ["region", "tier", "quarter"]
REGIONS = ("Northeast", "Southeast", "Midwest", "Southwest", "West")


@dataclass(frozen=True)
class EtlInputs:
    """The files one ETL run reads: flights as Parquet and as CSV, and the airport lookup table (CSV)."""

    parquet: Path
    csv: Path
    airports: Path
    rows: int


@dataclass
class EtlResult:
    """What a pipeline produced: the aggregated summary (pandas) and row counts and feature sums for parity."""

    summary: pd.DataFrame
    checks: dict[str, float]


@dataclass
class EtlTiming:
    """Per-step and total times of repeated pipeline runs on one backend, with the last run's result."""

    backend: str
    rows: int
    steps: dict[str, Timing]
    total: Timing
    result: EtlResult = field(repr=False)


def airport_table(n_airports: int) -> pd.DataFrame:
    """A lookup table for airport codes 0…n-1: region and hub tier (codes rank airports by traffic)."""
    code = np.arange(n_airports)
    tier = np.where(code < 30, "large hub", np.where(code < 100, "medium hub", "small"))
    region = np.asarray(REGIONS)[(code * 7 + 3) % len(REGIONS)]
    return pd.DataFrame({"airport": code.astype(np.int32), "region": region, "tier": tier})


def prepare_inputs(source: Path, rows: int | None = None) -> EtlInputs:
    """Parquet, CSV and airport-table files for `source` (its first `rows` rows), cached beside other data."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table(source) if source.suffix == ".parquet" else pacsv.read_csv(source)
    rows = table.num_rows if rows is None else min(int(rows), table.num_rows)
    stat = source.stat()
    key = hashlib.sha1(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    folder = cache_dir() / "etl" / f"{source.stem}_{key}_{rows}"
    holds = {"source": str(source.resolve()), "source_size": stat.st_size, "rows": rows, "format": 1}

    def build(tmp: Path) -> None:
        part = table.slice(0, rows)
        n_airports = int(max(pc.max(part["Origin"]).as_py(), pc.max(part["Dest"]).as_py())) + 1
        tmp.mkdir()
        airport_table(n_airports).to_csv(tmp / "airports.csv", index=False)
        pq.write_table(part, tmp / "flights.parquet")
        pacsv.write_csv(part, tmp / "flights.csv")

    verified(folder, holds, build)
    inputs = EtlInputs(folder / "flights.parquet", folder / "flights.csv", folder / "airports.csv", rows)
    return inputs


def _finish_dask(obj: Any) -> Any:
    from distributed import wait

    if isinstance(obj, tuple):
        return tuple(_finish_dask(o) for o in obj)
    if hasattr(obj, "persist"):
        obj = obj.persist()
        wait(obj)
    return obj


def _scalar(value: Any) -> float:
    return float(value.compute() if hasattr(value, "compute") else value)


def to_host(frame: Any) -> pd.DataFrame:
    """A pandas copy of a pandas, cuDF or Dask frame."""
    if hasattr(frame, "compute"):
        frame = frame.compute()
    return frame.to_pandas() if hasattr(frame, "to_pandas") and not isinstance(frame, pd.DataFrame) else frame


def _to_parquet(frame: Any, path: Path) -> None:
    if hasattr(frame, "dask"):
        frame.to_parquet(str(path), overwrite=True, write_index=False)
    else:
        frame.to_parquet(str(path), index=False)


def run_etl(xdf: ModuleType, inputs: EtlInputs, out_dir: Path) -> tuple[EtlResult, dict[str, float]]:
    """Run the pipeline once with dataframe module `xdf`; return its result and each step's seconds."""
    finish: Callable[[Any], Any] = _finish_dask if xdf.__name__.startswith("dask") else (lambda obj: obj)
    seconds: dict[str, float] = {}

    def step(name: str, fn: Callable[[], Any]) -> Any:
        box: dict[str, Any] = {}
        seconds[name] = measure(lambda: box.update(out=finish(fn())), warmup=0, repeats=1).median
        return box["out"]

    out_dir.mkdir(parents=True, exist_ok=True)
    flights = step("read_parquet", lambda: xdf.read_parquet(str(inputs.parquet)))
    from_csv, airports = step(
        "read_csv",
        lambda: (
            xdf.read_csv(str(inputs.csv)),
            xdf.read_csv(str(inputs.airports), dtype={"airport": "int32"}),
        ),
    )
    rows_csv = _scalar(len(from_csv))
    del from_csv  # only the read is timed; the Parquet copy feeds the rest of the pipeline
    flights = step("filter", lambda: flights[(flights["Diverted"] == 0) & (flights["Distance"] >= 100)])

    def features() -> Any:
        days = civil_days(flights["Year"], flights["Month"], flights["DayofMonth"])
        date = (days.astype("int64") * 86400).astype("datetime64[s]")
        dep_hour = flights["CRSDepTime"] // 100
        return flights.assign(
            date=date,
            quarter=date.dt.quarter,
            day_of_year=date.dt.dayofyear,
            dep_hour=dep_hour,
            daypart=(dep_hour // 6).astype("int8"),  # 0 night, 1 morning, 2 afternoon, 3 evening
            haul=((flights["Distance"] >= 500).astype("int8") + (flights["Distance"] >= 1500).astype("int8")),
            weekend=(flights["DayofWeek"] >= 6).astype("int8"),
            speed_mph=flights["Distance"] / flights["ActualElapsedTime"] * 60.0,
        )

    flights = step("features", features)
    joined = step("join", lambda: flights.merge(airports, left_on="Origin", right_on="airport", how="left"))
    aggregations = {"ArrDelay": "mean", "ArrDelayBinary": "mean", "FlightNum": "count", "speed_mph": "mean"}
    names = {
        "ArrDelay": "mean_delay",
        "ArrDelayBinary": "late_rate",
        "FlightNum": "flights",
        "speed_mph": "mph",
    }
    summary = step(
        "groupby", lambda: joined.groupby(SUMMARY_KEYS).agg(aggregations).reset_index().rename(columns=names)
    )
    summary, ordered = step(
        "sort",
        lambda: (
            summary.sort_values(["late_rate", *SUMMARY_KEYS], ascending=[False, True, True, True]),
            joined.sort_values(["date", "CRSDepTime", "FlightNum"]),
        ),
    )
    step(
        "write_parquet",
        lambda: (
            _to_parquet(ordered, out_dir / "flights.parquet"),
            _to_parquet(summary, out_dir / "summary.parquet"),
        ),
    )
    checks = {
        "rows_csv": rows_csv,
        "rows_kept": _scalar(len(ordered)),
        "dep_hour_sum": _scalar(ordered["dep_hour"].sum()),
        "weekend_sum": _scalar(ordered["weekend"].sum()),
        "quarter_sum": _scalar(ordered["quarter"].sum()),
        "day_of_year_sum": _scalar(ordered["day_of_year"].sum()),
        "daypart_sum": _scalar(ordered["daypart"].sum()),
        "haul_sum": _scalar(ordered["haul"].sum()),
    }
    return EtlResult(to_host(summary).reset_index(drop=True), checks), seconds


def time_etl(
    xdf: ModuleType, inputs: EtlInputs, out_dir: Path, warmup: int = 1, repeats: int = 3, label: str = ""
) -> EtlTiming:
    """Run the pipeline `warmup` + `repeats` times; per-step and total Timings of the repeats."""
    if warmup < 0 or repeats < 1:
        raise ValueError("time_etl() needs warmup ≥ 0 and repeats ≥ 1.")
    for _ in range(warmup):
        run_etl(xdf, inputs, out_dir)
    runs = [run_etl(xdf, inputs, out_dir) for _ in range(repeats)]
    steps = {name: Timing(tuple(r[1][name] for r in runs)) for name in STEPS}
    total = Timing(tuple(sum(r[1].values()) for r in runs))
    return EtlTiming(label or xdf.__name__, inputs.rows, steps, total, runs[-1][0])


def parity(reference: EtlResult, other: EtlResult, rtol: float = 1e-5) -> bool:
    """True when two backends' summaries and checks agree (floats within `rtol`, keys and counts exactly)."""
    if reference.checks.keys() != other.checks.keys():
        return False
    if not all(np.isclose(reference.checks[k], other.checks[k], rtol=rtol) for k in reference.checks):
        return False
    a, b = reference.summary, other.summary
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    a, b = (f.sort_values(SUMMARY_KEYS).reset_index(drop=True) for f in (a, b))
    for column in a.columns:
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number):
            if not np.allclose(x.astype(float), y.astype(float), rtol=rtol):
                return False
        elif [str(v) for v in x] != [str(v) for v in y]:
            return False
    return True


def step_table(timings: list[EtlTiming]) -> pd.DataFrame:
    """Median seconds per step (rows) and backend (columns), with a total row."""
    table = pd.DataFrame({t.backend: {s: t.steps[s].median for s in STEPS} for t in timings})
    table.loc["total"] = [t.total.median for t in timings]
    return table


@contextlib.contextmanager
def dask_client(gpu: bool, n_workers: int = 2, scheduler_address: str | None = None) -> Iterator[Any]:
    """A Dask client on a LocalCluster (CPU), a LocalCUDACluster (GPU) or an existing scheduler; always closed."""
    from distributed import Client, LocalCluster

    if scheduler_address:
        with Client(scheduler_address) as client:
            yield client
        return
    if gpu:
        from dask_cuda import LocalCUDACluster

        cluster = LocalCUDACluster()
    else:
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=False, dashboard_address=":0"
        )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def dask_module(gpu: bool) -> ModuleType:
    """dask.dataframe, switched to the cuDF backend (dask-cudf) when `gpu`."""
    import dask
    import dask.dataframe as dd

    if gpu:
        import dask_cudf  # noqa: F401  (registers the cuDF backend)
    dask.config.set({"dataframe.backend": "cudf" if gpu else "pandas"})
    return dd


def run_zero_code(
    inputs: EtlInputs,
    out_dir: Path,
    accelerator: str | None,
    warmup: int = 1,
    repeats: int = 3,
    timeout_s: float = 1800,
) -> dict[str, Any]:
    """Run the pandas pipeline in a fresh Python process, under `python -m cudf.pandas` when `accelerator` is
    'cudf.pandas' (it must be loaded before pandas), and return its timings, result and GPU activity."""
    out_dir.mkdir(parents=True, exist_ok=True)
    args = {
        "parquet": str(inputs.parquet),
        "csv": str(inputs.csv),
        "airports": str(inputs.airports),
        "rows": inputs.rows,
        "out_dir": str(out_dir),
        "warmup": warmup,
        "repeats": repeats,
    }
    script = Path(__file__).with_name("etl_zero_code.py")
    return launch(script, args, out_dir / "zero_code.json", accelerator, timeout_s)
