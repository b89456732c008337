"""helpers.datasets.airline: schema, plausible distributions, a learnable target, the Parquet cache and data_path checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.datasets import airline
from helpers.datasets.airline import FEATURES, TARGET, airline_parquet, make_airline, validate_data_path


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    return make_airline(50_000, seed=3, on_gpu=False)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FSL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(airline, "gpu_generation_available", lambda: False)
    return tmp_path / "cache"


def test_schema_has_13_numeric_features_and_a_binary_target(flights):
    assert len(FEATURES) == 13 and TARGET == "ArrDelayBinary"
    assert list(flights.columns) == [*FEATURES, "ArrDelay", TARGET]
    assert len(flights) == 50_000
    assert all(pd.api.types.is_numeric_dtype(t) for t in flights.dtypes)
    assert not flights.isna().any().any()
    assert set(flights[TARGET].unique()) == {0, 1}


def test_values_are_plausible(flights):
    assert flights["Year"].between(1987, 2008).all() and flights["Month"].between(1, 12).all()
    assert flights["DayofWeek"].between(1, 7).all() and flights["DayofMonth"].between(1, 31).all()
    dates = pd.to_datetime(
        flights[["Year", "Month", "DayofMonth"]].set_axis(["year", "month", "day"], axis=1)
    )
    assert (dates.dt.dayofweek + 1 == flights["DayofWeek"]).all(), "weekday matches the calendar date"
    for column in ("CRSDepTime", "CRSArrTime"):
        assert (flights[column] % 100 < 60).all() and flights[column].between(0, 2359).all()
    assert (flights["Origin"] != flights["Dest"]).all()
    assert flights["Distance"].between(31, 4983).all() and (flights["ActualElapsedTime"] > 0).all()
    top_hubs = flights["Origin"].value_counts(normalize=True).head(10).sum()
    assert top_hubs > 0.15, "a few hubs carry a large share of the flights"
    assert 0.15 < flights[TARGET].mean() < 0.6
    assert flights["Diverted"].mean() < 0.01


def test_target_depends_on_the_features(flights):
    late_by_hour = flights.groupby(flights["CRSDepTime"] // 100)[TARGET].mean()
    assert late_by_hour.loc[18:20].mean() > late_by_hour.loc[6:8].mean() + 0.1, "evening flights are later"
    late_by_carrier = flights.groupby("UniqueCarrier")[TARGET].mean()
    assert late_by_carrier.max() - late_by_carrier.min() > 0.1


def test_same_seed_same_rows_other_seed_other_rows():
    a = make_airline(1000, seed=1, on_gpu=False)
    pd.testing.assert_frame_equal(a, make_airline(1000, seed=1, on_gpu=False))
    assert not a.equals(make_airline(1000, seed=2, on_gpu=False))


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_bad_row_counts_are_refused(bad):
    with pytest.raises(ValueError, match="positive integer n_rows"):
        make_airline(bad)


def test_parquet_is_generated_once_and_reused(cache):
    path = airline_parquet(2000, seed=4)
    assert path.parent == cache and path.suffix == ".parquet"
    stamp = path.stat().st_mtime_ns
    assert airline_parquet(2000, seed=4) == path and path.stat().st_mtime_ns == stamp
    assert airline_parquet(2000, seed=5) != path
    pd.testing.assert_frame_equal(pd.read_parquet(path), make_airline(2000, seed=4, on_gpu=False))


def test_data_path_csv_and_parquet_are_accepted(tmp_path):
    frame = make_airline(100, on_gpu=False)
    frame.to_csv(tmp_path / "real.csv", index=False)
    frame.to_parquet(tmp_path / "real.parquet")
    assert airline_parquet(10, data_path=tmp_path / "real.csv") == tmp_path / "real.csv"
    assert validate_data_path(str(tmp_path / "real.parquet")) == tmp_path / "real.parquet"


def test_bad_data_paths_say_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="must be a .parquet or .csv file"):
        validate_data_path(tmp_path / "flights.json")
    with pytest.raises(ValueError, match="does not exist"):
        airline_parquet(10, data_path=tmp_path / "missing.parquet")
    make_airline(10, on_gpu=False).drop(columns=["Distance", TARGET]).to_csv(
        tmp_path / "partial.csv", index=False
    )
    with pytest.raises(ValueError, match="lacks the airline column.*Distance, ArrDelayBinary"):
        validate_data_path(tmp_path / "partial.csv")


def test_download_verifies_the_checksum_without_network(tmp_path, monkeypatch):
    payload = make_airline(50, on_gpu=False)
    source = tmp_path / "source.parquet"
    payload.to_parquet(source)

    def fake_retrieve(url, target):
        target.write_bytes(source.read_bytes())

    monkeypatch.setattr(airline.urllib.request, "urlretrieve", fake_retrieve)
    path = airline.download_airline(tmp_path / "data")
    assert path.name == "airline_20000000.parquet"
    digest = airline.sha256_of(path)
    assert (tmp_path / "data" / "airline_20000000.parquet.sha256").read_text().startswith(digest)
    assert airline.download_airline(tmp_path / "data", sha256=digest) == path
    with pytest.raises(ValueError, match="not the expected"):
        airline.download_airline(tmp_path / "data", sha256="0" * 64)
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ValueError, match="not the expected"):
        airline.download_airline(tmp_path / "data")


def test_generation_is_vectorised_and_fast_enough():
    frame = make_airline(200_000, seed=0, on_gpu=False)
    assert len(frame) == 200_000 and np.isfinite(frame.to_numpy(dtype=float)).all()
