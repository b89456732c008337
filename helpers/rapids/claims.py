"""Every RAPIDS claim of the collection (notebooks 01 and 02): the published figure, the quote, the rule."""

from __future__ import annotations

from helpers.core.claims import Claim, at_least, greater_than

BLOG = "My Week in AI, part 6 (reporting J. Zedlewski's RAPIDS talk, Spark + AI Summit 2020)"

ETL_TINY_FRACTION = Claim(
    id="cudf-etl-tiny-fraction",
    source=BLOG,
    statement="GPU libraries let data science work happen at a tiny fraction of the typical computation time "
    "(ETL pipeline total, pandas time / cuDF time; we read 'a tiny fraction' as at most a tenth)",
    published=10.0,
    unit="x",
    rule=at_least(10.0, partly=2.0),
)
CUDF_DROP_IN = Claim(
    id="cudf-replace-pandas",
    source=BLOG,
    statement="To use the RAPIDS version you just replace each instance of pandas in your code with cudf "
    "(1 when the unchanged pipeline code, handed cudf instead of pandas, gives the same results)",
    published=1.0,
    unit="",
    rule=at_least(1.0),
)
CUDF_PANDAS_ZERO_CODE = Claim(
    id="cudf-pandas-zero-code",
    source="cuDF documentation, cudf.pandas (docs.rapids.ai/api/cudf)",
    statement="cudf.pandas accelerates unchanged pandas code on the GPU "
    "(pipeline under python -m cudf.pandas, pandas time / accelerated time)",
    published="> 1",
    unit="x",
    rule=greater_than(1.0),
)

RF_HOUR_TO_MINUTES = Claim(
    id="cuml-rf-hour-to-5-minutes",
    source="My Week in AI, part 6 (reporting J. Zedlewski, NVIDIA, Spark + AI Summit 2020)",
    statement="Models that took an hour to train in scikit-learn were trained in less than 5 minutes with cuML "
    "(random forest fit, sklearn time / cuML time)",
    published=12.0,
    unit="x",
    rule=at_least(12.0, partly=4.0),
)
CUML_DOCS_10_TO_50 = Claim(
    id="cuml-docs-10-50x",
    source="cuML documentation, docs.rapids.ai/api/cuml (start page)",
    statement="cuML delivers on average 10-50x faster performance than CPU-based alternatives for realistic "
    "workloads (geometric mean of fit speedups over the estimators here)",
    published="10-50",
    unit="x",
    rule=at_least(10.0, partly=5.0),
)
CUML_ACCEL_MEDIAN = Claim(
    id="cuml-accel-median-5.8x",
    source="cuml.accel benchmarks page, docs.nvidia.com/cuml (measured on an RTX Pro 6000)",
    statement="Zero-code-change cuml.accel gives an approximately 5.8x median training speedup "
    "(median fit speedup of unchanged scikit-learn code under python -m cuml.accel)",
    published=5.8,
    unit="x",
    rule=at_least(5.8, partly=2.0),
)

# "The same functions" and "a corresponding library": shares measured from the pinned release's sources
# (helpers.rapids.coverage). Rules fixed before measuring: the same functions means at least 95% of the API
# names (partly from 75%); a counterpart library is one that covers at least half of a library's core API.
SAME_SHARE = 0.95
PARTLY_SHARE = 0.75
COUNTERPART_SHARE = 0.5
COUNTERPART_LIBRARIES = ("pandas", "scikit-learn", "PyTorch", "Matplotlib")

CUDF_SAME_FUNCTIONS = Claim(
    id="cudf-same-functions",
    source=BLOG,
    statement="Each of the RAPIDS versions have the same functions as the Python versions: cuDF vs pandas "
    "(share of pandas DataFrame and Series public methods that cuDF's classes define, pinned release)",
    published=1.0,
    unit="share",
    rule=at_least(SAME_SHARE, partly=PARTLY_SHARE),
)
RAPIDS_COUNTERPARTS = Claim(
    id="rapids-corresponding-libraries",
    source=BLOG,
    statement="RAPIDS has a corresponding library to each of the Python data science libraries (pandas, "
    "scikit-learn, PyTorch, Matplotlib) (how many of the four have a RAPIDS package covering at least half of "
    "their core API: frame methods, estimators, torch.nn layers, pyplot functions)",
    published=4,
    unit="of 4",
    rule=at_least(4),
)
CUML_SAME_ESTIMATORS = Claim(
    id="cuml-same-functions",
    source="My Week in AI, part 6 (reporting J. Zedlewski, NVIDIA, Spark + AI Summit 2020)",
    statement="Each of the RAPIDS versions have the same functions as the Python versions: cuML vs "
    "scikit-learn (share of sklearn.utils.all_estimators() that cuML defines under the same name)",
    published=1.0,
    unit="share",
    rule=at_least(SAME_SHARE, partly=PARTLY_SHARE),
)
CUML_NOTEBOOK_ESTIMATORS = Claim(
    id="cuml-same-functions-here",
    source="My Week in AI, part 6 (reporting J. Zedlewski, NVIDIA, Spark + AI Summit 2020)",
    statement="The same functions, for the scikit-learn estimators this notebook uses (share that cuML defines "
    "under the same name)",
    published=1.0,
    unit="share",
    rule=at_least(SAME_SHARE, partly=PARTLY_SHARE),
)
