"""The GPU path against the pinned RAPIDS release's sources: every cuDF/cuML/dask-cudf name and keyword exists.

The sources come from `make rapids-src` (a step `make test` runs first); without them these tests fail saying so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.rapids.coverage import Coverage, accelerated_estimators, estimator_coverage, pandas_coverage
from helpers.rapids.release import ROOT, ModuleInfo, Release, _parse_pyx, missing_reason
from helpers.rapids.zero_code import (
    Activity,
    cudf_pandas_activity,
    cuml_accel_activity,
    describe,
    is_active,
    total_activity,
)

from .rapids_conformance import checking, units


@pytest.fixture(scope="module")
def release() -> Release:
    reason = missing_reason()
    if reason is not None:
        pytest.fail(reason[0].upper() + reason[1:] + ".", pytrace=False)
    return Release()


@pytest.fixture(scope="module")
def checked(release):
    return checking.conformance(release)


def test_every_rapids_use_on_the_gpu_path_exists_in_the_pinned_release(checked):
    uses, problems = checked
    assert not problems, "\n".join(map(str, problems))
    targets = {u.target for u in uses}
    # the finder reaches the ETL pipeline, the backend switch, the estimators and the dask-cuda cluster
    assert {"cudf.read_csv", ".merge", ".sort_values", "cuml.ensemble.RandomForestClassifier"} <= targets
    assert {"cuml.decomposition.PCA", "dask_cuda.LocalCUDACluster", "cudf.pandas.Profiler"} <= targets


def _scratch(tmp_path: Path, old: str, new: str) -> Path:
    source = (ROOT / "helpers" / "rapids" / "etl.py").read_text()
    assert old in source
    scratch = tmp_path / "etl_scratch.py"
    scratch.write_text(source.replace(old, new))
    return scratch


def _problems_in(release: Release, scratch: Path, entry: str) -> list[checking.Problem]:
    notebook = units.source_unit(
        "nb", "scratch.ipynb", f"import cudf\nfrom etl_scratch import {entry}\n{entry}(cudf, None, None)\n"
    )
    scanned = [units.module_unit(scratch, scratch.parent), notebook]
    uses = checking.find_uses(release, scanned, {})
    return checking.check(release, uses)


def test_a_misspelt_cudf_keyword_fails_with_its_call_site(release, tmp_path):
    scratch = _scratch(tmp_path, 'dtype={"airport": "int32"}', 'dtypes={"airport": "int32"}')
    problems = _problems_in(release, scratch, "run_etl")
    line = next(n for n, text in enumerate(scratch.read_text().splitlines(), 1) if "dtypes=" in text)
    assert [str(p) for p in problems] == [
        f"etl_scratch.py:{line}: `cudf.read_csv` takes no keyword dtypes in {release.describe()}"
    ]


def test_a_misspelt_frame_method_fails_with_its_call_site(release, tmp_path):
    scratch = _scratch(tmp_path, "joined.sort_values(", "joined.sort_valuez(")
    problems = _problems_in(release, scratch, "run_etl")
    assert (
        len(problems) == 1
        and "sort_valuez" in problems[0].message
        and problems[0].site.startswith("etl_scratch.py:")
    )


def test_the_unchanged_copy_passes(release, tmp_path):
    scratch = _scratch(tmp_path, "joined.sort_values(", "joined.sort_values(")
    assert _problems_in(release, scratch, "run_etl") == []


def test_dask_only_branches_are_not_checked_against_cudf(release):
    # _to_parquet's `overwrite=`/`write_index=` branch runs only for Dask frames (hasattr(frame, "dask"))
    uses, _ = checking.conformance(release)
    assert not [u for u in uses if "overwrite" in u.keywords or "write_index" in u.keywords]


def test_the_backend_map_is_read_from_the_gpu_switch():
    backend = units.module_unit(ROOT / "helpers" / "core" / "backend.py")
    fields = units.gpu_fields(backend)
    assert fields["df"] == "cudf" and fields["KMeans"] == "cuml.cluster.KMeans"
    assert fields["train_test_split"] == "cuml.model_selection.train_test_split"


def test_missing_sources_give_one_sentence_naming_the_make_step(tmp_path):
    reason = missing_reason(tmp_path)
    assert "make rapids-src" in reason and reason.count(". ") == 0
    with pytest.raises(FileNotFoundError, match="make rapids-src"):
        Release(tmp_path)


def test_the_cython_parser_reads_typed_and_multiline_signatures():
    module = ModuleInfo("pkg.mod", Path("mod.pyx"))
    _parse_pyx(
        module,
        (
            "from pkg.base import Base\n"
            "cdef class Low:\n    pass\n"
            "class Model(\n        Base,\n):\n"
            "    def __init__(self, *, int n_clusters=8, double tol=1e-4, verbose=False, **kwargs):\n"
            "        self.n_clusters = n_clusters\n"
            "    @property\n    def coef_(self):\n        return 1\n"
            "    cpdef fit(self, X, y=None):\n        self.inertia_ = 0\n"
            "cpdef double helper(int a, b not None):\n    return a\n"
        ),
        is_package=False,
    )
    model = module.classes["Model"]
    assert model.bases == ["Base"] and module.imports["Base"] == "pkg.base.Base"
    assert (
        model.methods["__init__"].names == ("n_clusters", "tol", "verbose")
        and model.methods["__init__"].var_keyword
    )
    assert model.methods["fit"].names == ("X", "y")
    assert {"coef_", "inertia_", "n_clusters"} <= model.attributes
    assert module.functions["helper"].names == ("a", "b") and "Low" in module.classes


def test_coverage_is_measured_from_the_release(release):
    per_class = pandas_coverage(release)
    assert 0 < per_class["DataFrame"].share < 1 and "merge" not in per_class["DataFrame"].missing
    used = estimator_coverage(release, ["RandomForestClassifier", "KMeans", "NoSuchEstimator"])
    assert used == Coverage(2, 3, ("NoSuchEstimator",))
    assert {"KMeans", "LogisticRegression", "RandomForestClassifier"} <= accelerated_estimators(release)


def test_release_versions_satisfy_the_pyproject_pins(release):
    import tomllib

    from packaging.requirements import Requirement

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "rapids-cu12"
    ]
    pins = {Requirement(r).name.replace("-", "_"): Requirement(r).specifier for r in extra}
    assert set(release.versions) == set(pins)
    assert all(release.versions[name] in spec for name, spec in pins.items()), json.dumps(release.versions)


def test_the_cudf_pandas_profiler_structure_is_read():
    stats = {"read_parquet": {"gpu": [0.5]}, "DataFrame.merge": {"gpu": [0.2, 0.1], "cpu": [0.4]}}
    activity = cudf_pandas_activity(stats, active=True)
    assert (activity.gpu_calls, activity.cpu_calls, activity.fallbacks) == (3, 1, ("DataFrame.merge",))
    assert activity.gpu_call_share == 0.75 and activity.gpu_time_share == pytest.approx(0.8 / 1.2)


def test_the_cuml_accel_profile_results_are_read(release):
    # the release's own ProfileResults class, loaded from its source, fed the callbacks cuml.accel makes
    namespace: dict = {}
    source = (release.root / "cuml" / "accel" / "profilers.py").read_text()
    start = source.index("class MethodStats")
    end = source.index("    def print_report", start)
    exec(compile("class Callback:\n    pass\n" + source[start:end], "profilers.py", "exec"), namespace)
    results = namespace["ProfileResults"]()
    results._on_gpu_call("KMeans.fit", 2.0)
    results._on_cpu_call("KMeans.fit", 1.0, reason="sparse input")
    results._on_gpu_call("KMeans.predict", 1.0)
    activity = cuml_accel_activity(results.method_calls, active=True)
    assert (activity.gpu_calls, activity.cpu_calls, activity.fallbacks) == (2, 1, ("KMeans.fit",))
    assert activity.gpu_time_share == 0.75


def test_without_an_accelerator_the_signal_is_inactive():
    assert is_active("cudf.pandas") is False and is_active("cuml.accel") is False and is_active(None) is False
    both = total_activity(
        [Activity("cuml.accel", True, 3, 1).to_dict(), Activity("cuml.accel", False, 0, 2).to_dict()]
    )
    assert both["active"] is False and (both["gpu_calls"], both["cpu_calls"]) == (3, 3)
    assert Activity.from_dict(Activity("x", True, fallbacks=("a",)).to_dict()) == Activity(
        "x", True, fallbacks=("a",)
    )


def test_gpu_path_units_include_the_rapids_notebooks():
    labels = {u.label for u in units.gpu_path_units()}
    assert {"notebooks/01_rapids_dataframes.ipynb", "notebooks/02_rapids_machine_learning.ipynb"} <= labels


def test_an_activity_is_described_in_words():
    busy = Activity("cuml.accel", True, 3, 1, fallbacks=("KMeans.fit",)).to_dict()
    assert (
        describe(busy) == "cuml.accel ran 3 of 4 profiled calls on the GPU (75%; CPU fallbacks: KMeans.fit)"
    )
    assert describe(Activity("cudf.pandas", True).to_dict()) == "cudf.pandas profiled no calls"
