"""The GPU path against the pinned RAPIDS release's sources: every cuDF/cuML/dask-cudf name and keyword exists.

The sources come from `make rapids-src` (a step `make test` runs first); without them these tests fail saying so.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from helpers.rapids.coverage import Coverage, accelerated_estimators, estimator_coverage, pandas_coverage
from helpers.rapids.release import ROOT, Release, missing_reason
from helpers.rapids.release_parsing import ModuleInfo, parse_pyx
from helpers.rapids.zero_code import (
    Activity,
    cudf_pandas_activity,
    cuml_accel_activity,
    describe,
    is_active,
    total_activity,
)

from .rapids_conformance import calls, checking, units


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


# Realistic mistakes the conformance test once missed, each planted in a scratch copy of a module (the old text,
# the planted text) or in a notebook snippet, with a fragment of the problem it must now report.
PLANTED_IN_MODULES = {
    # keywords that reach **kwargs, followed to where they go
    "read_parquet-kwargs": (
        "etl.py",
        "xdf.read_parquet(str(inputs.parquet))",
        'xdf.read_parquet(str(inputs.parquet), dtype_backend="pyarrow")',
        "`cudf.read_parquet` takes no keyword dtype_backend in",
    ),
    "LocalCUDACluster-processes": (
        "etl.py",
        "cluster = LocalCUDACluster()",
        "cluster = LocalCUDACluster(processes=False)",
        "ValueError: Processes are necessary in order to use multiple GPUs with Dask",
    ),
    # methods that exist but raise: for the keywords used, or always
    "merge-indicator": (
        "etl.py",
        'how="left"))',
        'how="left", indicator=True))',
        "`merge` of cudf.core.dataframe.DataFrame raises for these arguments (cudf/core/dataframe.py:",
    ),
    "tolist": (
        "etl.py",
        '_scalar(ordered["quarter"].sum())',
        'sum(ordered["quarter"].tolist())',
        "TypeError: cuDF does not support conversion to host memory via the `tolist()` method.",
    ),
    # indirection: keywords passed as **{...}
    "double-star-dict": (
        "etl.py",
        'dtype={"airport": "int32"}',
        '**{"dtypes": {"airport": "int32"}}',
        "`cudf.read_csv` takes no keyword dtypes in",
    ),
    # types that change on the GPU: cuML answers an array input with an array, which has no .to_numpy()
    "prediction-to_numpy": (
        "ml.py",
        "backend.to_numpy(model.predict(x_test))",
        "model.predict(x_test).to_numpy()",
        "a CuPy or NumPy array (what cuML returns for an array input) has no `to_numpy`",
    ),
}

PLANTED_IN_NOTEBOOKS = {
    "dask_cudf-read_parquet-dispatch": (
        'import dask_cudf\nflights = dask_cudf.read_parquet("flights.parquet", dtype_backend="pyarrow")\n',
        "NotImplementedError: dtype_backend is not supported by the 'cudf' backend.",
    ),
    "iterrows": (
        'import cudf\nflights = cudf.read_parquet("flights.parquet")\nfor _, row in flights.iterrows():\n'
        "    print(row)\n",
        "TypeError: cuDF does not support iteration of DataFrame via iterrows.",
    ),
    "estimators-in-a-dict-called-in-a-loop": (
        "from helpers.core.backend import get_backend\nfrom helpers.rapids.ml import SPECS, make_estimator\n"
        'gpu = get_backend("gpu")\nmodels = {name: make_estimator(gpu, spec, 0) for name, spec in SPECS.items()}\n'
        "for name, model in models.items():\n    model.predict_probaa(x)\n",
        "no cuDF/cuML class of the GPU path has `predict_probaa`",
    ),
    "estimator-classes-in-a-dict-called-in-a-loop": (
        'from helpers.core.backend import get_backend\ngpu = get_backend("gpu")\n'
        'classes = {"kmeans": gpu.KMeans, "pca": gpu.PCA}\nfor name, cls in classes.items():\n'
        "    cls(n_clusters=8)\n",
        "`cuml.decomposition.PCA` takes no keyword n_clusters",
    ),
    "helper-annotated-pandas-returns-cudf": (
        "import cudf\nimport pandas as pd\n\n\ndef load(path: str) -> pd.DataFrame:\n"
        '    return cudf.read_parquet(path)\n\n\nload("flights.parquet").sort_valuez("Year")\n',
        "no cuDF/cuML class of the GPU path has `sort_valuez`",
    ),
    "method-of-another-gpu-class": (
        "import cudf\nfrom cuml.cluster import KMeans\nfrom cuml.decomposition import PCA\n"
        'frame = cudf.read_parquet("flights.parquet")\npca = PCA(n_components=2).fit(frame)\n'
        "kmeans = KMeans(n_clusters=8).fit(frame)\nprint(kmeans.explained_variance_ratio_)\n",
        "cuml.cluster.kmeans.KMeans has no `explained_variance_ratio_`",
    ),
    "array-prediction-to_numpy": (
        "import numpy as np\nfrom cuml.cluster import KMeans\n"
        "x = np.zeros((4, 2), dtype=np.float32)\nKMeans(n_clusters=2).fit(x).predict(x).to_numpy()\n",
        "a CuPy or NumPy array (what cuML returns for an array input) has no `to_numpy`",
    ),
}

# how a notebook reaches each module's GPU path (ml.py's functions take a `Backend`, which is the GPU one)
ENTRIES = {
    "etl.py": "import cudf\nfrom helpers.rapids.etl import run_etl\nrun_etl(cudf, None, None)\n",
    "ml.py": "",
}

# what the same snippets may do: accepted keywords, values that do not raise, a cuDF prediction's own methods
OK_IN_NOTEBOOKS = (
    'import cudf\nflights = cudf.read_parquet("f.parquet", columns=["Year"], filters=None, prefetch_options={})\n'
    'flights.merge(flights, on="Year", how="left", indicator=False)\n',
    "from dask_cuda import LocalCUDACluster\nLocalCUDACluster(n_workers=1, processes=True)\n",
    'import dask_cudf\ndask_cudf.read_parquet("flights.parquet", columns=["Year"], blocksize=None)\n',
    "import cudf\nfrom cuml.cluster import KMeans\n"
    'frame = cudf.read_parquet("f.parquet")\nKMeans(n_clusters=8).fit(frame).predict(frame).to_numpy()\n',
)


def _scanned(
    release: Release, modules: list[Path], notebook: str, root: Path = ROOT
) -> list[checking.Problem]:
    """The problems the checker finds in these modules (under `root`) and a notebook snippet, with the project's
    GPU backend."""
    backend = units.module_unit(ROOT / "helpers" / "core" / "backend.py")
    scanned = [
        backend,
        *(units.module_unit(m, root) for m in modules),
        units.source_unit("nb", "nb.ipynb", notebook),
    ]
    return checking.check(release, checking.find_uses(release, scanned, units.gpu_fields(backend)))


@pytest.mark.parametrize(
    ("module", "old", "new", "reported"), PLANTED_IN_MODULES.values(), ids=PLANTED_IN_MODULES
)
def test_a_planted_mistake_in_a_module_is_caught_at_its_call_site(
    release, tmp_path, module, old, new, reported
):
    source = (ROOT / "helpers" / "rapids" / module).read_text()
    assert source.count(old) == 1
    scratch = tmp_path / "helpers" / "rapids" / module
    scratch.parent.mkdir(parents=True)
    scratch.write_text(source.replace(old, new))
    line = next(
        n for n, text in enumerate(scratch.read_text().splitlines(), 1) if new.splitlines()[0] in text
    )
    problems = [str(p) for p in _scanned(release, [scratch], ENTRIES[module], tmp_path)]
    assert [p for p in problems if reported in p and f"{module}:{line}: " in p], "\n".join(problems)


@pytest.mark.parametrize(("notebook", "reported"), PLANTED_IN_NOTEBOOKS.values(), ids=PLANTED_IN_NOTEBOOKS)
def test_a_planted_mistake_in_a_notebook_is_caught(release, notebook, reported):
    problems = [str(p) for p in _scanned(release, [ROOT / "helpers" / "rapids" / "ml.py"], notebook)]
    assert [p for p in problems if reported in p and p.startswith("nb.ipynb:")], "\n".join(problems)


@pytest.mark.parametrize("notebook", OK_IN_NOTEBOOKS)
def test_what_the_release_accepts_passes(release, notebook):
    assert _scanned(release, [], notebook) == []


def test_the_dispatch_table_leads_to_the_entry_point_dask_calls(release):
    # dask_cudf.read_parquet hands everything to dask.dataframe.read_parquet, which (cuDF backend) calls the entry
    # point DISPATCH names with the same arguments: the table holds while both stay so
    forwarder = release.resolve("dask_cudf.read_parquet")
    assert "dd.read_parquet(*args, **kwargs)" in ast.unparse(forwarder.node)
    entry = release.resolve(f"{calls.DISPATCH['dask.dataframe']}.read_parquet")
    assert entry.var_keyword and "read_parquet_expr(*args, **kwargs)" in ast.unparse(entry.node)


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
    parse_pyx(
        module,
        (
            "from pkg.base import Base\n"
            "cdef class Low:\n    pass\n"
            "class Model(\n        Base,\n):\n"
            "    def __init__(self, *, int n_clusters=8, double tol=1e-4, verbose=False, **kwargs):\n"
            "        self.n_clusters = n_clusters\n"
            "    @property\n    def coef_(self):\n        return 1\n"
            "    @mlfunc(set_input_type=True)\n    cpdef fit(self, X, y=None):\n        self.inertia_ = 0\n"
            "        return self\n"
            "    @mlfunc(preserve_index=True)\n    def predict(self, X):\n        return X\n"
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
    # fit returns the estimator; predict returns its input's array type (cuML's mlfunc)
    assert model.methods["fit"].returns_self and not model.methods["fit"].array_result
    assert model.methods["predict"].array_result and not model.methods["predict"].returns_self
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
