"""Airline on-time data with the schema of RAPIDS' `airline_20000000` file: a synthetic generator, the real file.

The RAPIDS demos use 20M US domestic flights with 13 numeric features and a binary target `ArrDelayBinary`
(the flight arrived late). Tests and default runs have no network, so `make_airline` generates data with the
same columns and plausible distributions: hub-heavy airports, a few large carriers, morning and evening
departure peaks, distances from airport positions, and a delay that depends on carrier, airport congestion,
hour, season and weekday (with an interaction a linear model cannot capture), plus heavy-tailed noise. The
real file is used only when the user passes its path or asks for `download_airline`.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.cache import sha256_of, verified
from helpers.core.results import cache_dir

FEATURES: list[str] = [
    "Year",
    "Month",
    "DayofMonth",
    "DayofWeek",
    "CRSDepTime",
    "CRSArrTime",
    "UniqueCarrier",
    "FlightNum",
    "ActualElapsedTime",
    "Origin",
    "Dest",
    "Distance",
    "Diverted",
]
TARGET = "ArrDelayBinary"
DELAY = "ArrDelay"
COLUMNS: list[str] = [*FEATURES, DELAY, TARGET]
LATE_MINUTES = (
    10  # the generator marks a flight late when it arrives more than this many minutes behind schedule
)

GENERATOR_VERSION = 1  # bump when `_generate` changes: it invalidates cached synthetic files
AIRLINE_URL = "https://data.rapids.ai/cloud-ml/airline_20000000.parquet"

N_AIRPORTS = 300
N_CARRIERS = 20
FIRST_YEAR, LAST_YEAR = 1987, 2008
_MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
_MONTH_DELAY = [6.0, 3.0, 2.0, 0.0, 0.0, 5.0, 7.0, 5.0, -2.0, -2.0, 0.0, 8.0]
_WEEKDAY_DELAY = [0.0, -1.0, -1.0, 2.0, 4.0, -4.0, 1.0]  # Monday … Sunday
# Share of scheduled departures per hour 0–23: almost none at night, peaks in the morning and early evening.
_HOUR_SHARE = [
    0.1,
    0.05,
    0.02,
    0.02,
    0.05,
    0.6,
    4.5,
    6.5,
    6.8,
    6.0,
    5.5,
    5.5,
    5.6,
    5.6,
    5.5,
    5.6,
    6.0,
    6.5,
    6.5,
    5.5,
    4.5,
    3.0,
    1.5,
    0.7,
]
# Mean extra delay by scheduled departure hour: delays build up through the day and reset overnight.
_HOUR_DELAY = [
    6.0,
    4.0,
    2.0,
    0.0,
    -2.0,
    -8.0,
    -9.0,
    -8.0,
    -6.0,
    -4.0,
    -2.0,
    0.0,
    1.0,
    3.0,
    5.0,
    7.0,
    9.0,
    11.0,
    12.0,
    12.0,
    10.0,
    8.0,
    6.0,
    4.0,
]


def _zipf(n: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


def _draw(xp: Any, rng: Any, p: np.ndarray, n_rows: int) -> Any:
    """`n_rows` category codes drawn with probabilities `p` by inverse-CDF lookup (faster than choice(p=...))."""
    cdf = xp.asarray(np.cumsum(p) / np.sum(p))
    return xp.minimum(xp.searchsorted(cdf, rng.random_sample(n_rows), side="right"), len(p) - 1)


def civil_days(year: Any, month: Any, day: Any) -> Any:
    """Days since 1970-01-01 of civil dates given as integer arrays or columns (Hinnant's algorithm).

    Only arithmetic and `astype`, so it runs unchanged on NumPy, CuPy, pandas, cuDF and Dask objects.
    """
    after_feb = (month > 2).astype("int32")
    y = year - 1 + after_feb
    era = y // 400
    yoe = y - era * 400
    day_of_year = (153 * (month + 9 - 12 * after_feb) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + day_of_year - 719468


def _generate(xp: Any, n_rows: int, seed: int) -> dict[str, Any]:
    """All columns as arrays of the array module `xp` (NumPy or CuPy)."""
    tables = np.random.RandomState(seed)  # small lookup tables: always NumPy, identical on both devices
    lon = xp.asarray(tables.uniform(-123, -70, N_AIRPORTS))
    lat = xp.asarray(tables.uniform(26, 48, N_AIRPORTS))
    congestion = xp.asarray(tables.permutation(np.linspace(1.0, 0.0, N_AIRPORTS) ** 4))
    carrier_delay = xp.asarray(tables.normal(0, 6, N_CARRIERS))
    month_delay, weekday_delay = xp.asarray(_MONTH_DELAY), xp.asarray(_WEEKDAY_DELAY)
    hour_delay = xp.asarray(_HOUR_DELAY)
    rng = xp.random.RandomState(seed)

    year = FIRST_YEAR + _draw(
        xp, rng, np.linspace(1, 2, LAST_YEAR - FIRST_YEAR + 1), n_rows
    )  # traffic doubles
    month = rng.randint(1, 13, n_rows)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = xp.asarray(_MONTH_DAYS)[month - 1] + ((month == 2) & leap)
    day = (rng.random_sample(n_rows) * month_days).astype(np.int64) + 1
    weekday = (civil_days(year, month, day) + 3) % 7 + 1  # 1970-01-01 was a Thursday; 1 = Monday

    dep_hour = _draw(xp, rng, np.array(_HOUR_SHARE), n_rows)
    dep_minutes = dep_hour * 60 + rng.randint(0, 12, n_rows) * 5
    carrier = _draw(xp, rng, _zipf(N_CARRIERS, 1.0), n_rows)
    # Airport codes are popularity ranks: code 0 is the biggest hub (index = N·u³ puts most flights on few hubs).
    origin = (N_AIRPORTS * rng.random_sample(n_rows) ** 3).astype(np.int64)
    dest = (N_AIRPORTS * rng.random_sample(n_rows) ** 3).astype(np.int64)
    dest = xp.where(dest == origin, (dest + 1 + rng.randint(0, N_AIRPORTS - 1, n_rows)) % N_AIRPORTS, dest)
    miles = xp.sqrt(((lat[origin] - lat[dest]) * 69.0) ** 2 + ((lon[origin] - lon[dest]) * 53.0) ** 2)
    distance = xp.clip(xp.round(miles), 31, 4983)
    flight_num = (origin * 31 + dest * 17 + carrier * 7 + rng.randint(0, 4, n_rows)) % 7000 + 1

    evening = (dep_hour >= 16) & (dep_hour <= 21)
    busy = congestion[origin]
    mean_delay = (
        -6.0
        + carrier_delay[carrier]
        + month_delay[month - 1]
        + weekday_delay[weekday - 1]
        + hour_delay[dep_hour]
        + 25.0 * busy * evening
        + 8.0 * congestion[dest]
        + 0.2 * (year - FIRST_YEAR)
    )
    storm = rng.random_sample(n_rows) < 0.05 + 0.15 * busy * evening
    delay = mean_delay + rng.normal(0, 10, n_rows) + storm * rng.exponential(50, n_rows)
    delay = xp.round(xp.clip(delay, -60, 1200))

    block = xp.round(22 + distance * 0.125 + rng.normal(0, 5, n_rows))
    elapsed = xp.maximum(block + xp.round(0.1 * xp.maximum(delay, -20) + rng.normal(0, 4, n_rows)), 18)
    arr_minutes = (dep_minutes + block) % 1440
    diverted = rng.random_sample(n_rows) < 0.002

    i32, f32 = np.int32, np.float32
    return {
        "Year": year.astype(i32),
        "Month": month.astype(i32),
        "DayofMonth": day.astype(i32),
        "DayofWeek": weekday.astype(i32),
        "CRSDepTime": ((dep_minutes // 60) * 100 + dep_minutes % 60).astype(i32),
        "CRSArrTime": ((arr_minutes // 60) * 100 + arr_minutes % 60).astype(i32),
        "UniqueCarrier": carrier.astype(i32),
        "FlightNum": flight_num.astype(i32),
        "ActualElapsedTime": elapsed.astype(f32),
        "Origin": origin.astype(i32),
        "Dest": dest.astype(i32),
        "Distance": distance.astype(f32),
        "Diverted": diverted.astype(i32),
        DELAY: delay.astype(f32),
        TARGET: (delay > LATE_MINUTES).astype(i32),
    }


def gpu_generation_available() -> bool:
    """True when cuDF works here, so the data can be generated with CuPy and written with cuDF."""
    from helpers.core.environment import rapids_status

    return bool(rapids_status()["available"])


def make_airline(n_rows: int, seed: int = 0, on_gpu: bool | None = None) -> pd.DataFrame:
    """`n_rows` synthetic flights with the airline schema, as pandas (generated with CuPy when RAPIDS works).

    The same seed gives the same rows on the same device; CuPy and NumPy draw different random streams.
    """
    if not isinstance(n_rows, (int, np.integer)) or isinstance(n_rows, bool) or n_rows < 1:
        raise ValueError(f"make_airline needs a positive integer n_rows, got {n_rows!r}.")
    on_gpu = gpu_generation_available() if on_gpu is None else on_gpu
    if on_gpu:
        return _make_cudf(int(n_rows), seed).to_pandas()
    return pd.DataFrame(_generate(np, int(n_rows), seed))


def _make_cudf(n_rows: int, seed: int) -> Any:
    import cudf
    import cupy

    return cudf.DataFrame(_generate(cupy, n_rows, seed))


def _file_columns(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    return list(pd.read_csv(path, nrows=0).columns)


def validate_data_path(data_path: str | os.PathLike, extra: tuple[str, ...] = ()) -> Path:
    """Check that `data_path` is an existing .parquet or .csv file with the airline columns (and `extra` ones)."""
    path = Path(data_path).expanduser()
    name = repr(str(path))
    if path.suffix not in (".parquet", ".csv"):
        raise ValueError(
            f"data_path {name} must be a .parquet or .csv file such as airline_20000000.parquet."
        )
    if not path.is_file():
        raise ValueError(
            f"data_path {name} does not exist; pass the path of the airline file or leave it None."
        )
    missing = [c for c in (*FEATURES, TARGET, *extra) if c not in _file_columns(path)]
    if missing:
        raise ValueError(
            f"data_path {name} lacks the airline column(s) {', '.join(missing)}; pass a file with the "
            "airline_20000000 schema (13 features, ArrDelay and ArrDelayBinary)."
        )
    return path


def read_airline(path: str | os.PathLike, columns: list[str] | None = None, xdf: Any = pd) -> Any:
    """The airline file at `path` read by its type (.csv, else Parquet) with the DataFrame module `xdf` (pandas or cuDF)."""
    if Path(path).suffix == ".csv":
        return xdf.read_csv(str(path), usecols=columns)
    return xdf.read_parquet(str(path), columns=columns)


def airline_parquet(n_rows: int, seed: int = 0, data_path: str | os.PathLike | None = None) -> Path:
    """The airline file: `data_path` after validation, else synthetic rows cached as Parquet and reused."""
    if data_path is not None:
        return validate_data_path(data_path)
    if not isinstance(n_rows, (int, np.integer)) or isinstance(n_rows, bool) or n_rows < 1:
        raise ValueError(f"airline_parquet needs a positive integer n_rows, got {n_rows!r}.")
    on_gpu = gpu_generation_available()
    generator = "cupy" if on_gpu else "numpy"
    path = cache_dir() / f"airline_synthetic_{int(n_rows)}_seed{seed}_{generator}.parquet"
    holds = {
        "rows": int(n_rows),
        "seed": seed,
        "generator": generator,
        "version": GENERATOR_VERSION,
        "columns": COLUMNS,
    }

    def build(tmp: Path) -> None:
        frame = _make_cudf(int(n_rows), seed) if on_gpu else make_airline(int(n_rows), seed, on_gpu=False)
        frame.to_parquet(tmp, index=False)

    return verified(path, holds, build, inspect=_parquet_facts)


def _parquet_facts(path: Path) -> dict[str, Any]:
    """Rows and columns a Parquet file really holds, read from its footer."""
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(path)
    return {"rows": metadata.num_rows, "columns": list(metadata.schema.to_arrow_schema().names)}


def download_airline(dest: str | os.PathLike, sha256: str | None = None, url: str = AIRLINE_URL) -> Path:
    """Opt-in download of the real 20M-row file to `dest` (a folder or file), verified by SHA-256.

    Never called by tests or default runs. Pass the published `sha256` to verify the download; without it, the
    digest of the first download is stored beside the file (`.sha256`) and later calls verify against it.
    """
    target = Path(dest).expanduser()
    if target.is_dir() or not target.suffix:
        target = target / Path(url).name
    target.parent.mkdir(parents=True, exist_ok=True)
    sidecar = target.with_name(target.name + ".sha256")
    expected = sha256 or (sidecar.read_text().split()[0] if sidecar.exists() else None)
    if not target.exists():
        partial = target.with_name(target.name + ".part")
        print(f"Downloading {url} to {target} …")
        urllib.request.urlretrieve(url, partial)
        os.replace(partial, target)
    actual = sha256_of(target)
    if expected is not None and actual != expected:
        raise ValueError(
            f"{target} has SHA-256 {actual}, not the expected {expected}; delete it and download again."
        )
    sidecar.write_text(f"{actual}  {target.name}\n")
    print(f"SHA-256 {actual}" + (" (verified)" if expected else " (stored; later calls verify against it)"))
    return validate_data_path(target)
