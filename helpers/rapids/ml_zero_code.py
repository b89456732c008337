"""The scikit-learn fits as a script, for `python -m cuml.accel helpers/rapids/ml_zero_code.py '<json>'`.

It uses plain scikit-learn estimators; under `-m cuml.accel` those are intercepted and run on the GPU with zero
code changes. cuML's own profiler (`cuml.accel.profile`, cheap callbacks, no tracing) counts, per estimator, the
method calls that ran on the GPU and those that fell back to the CPU. It writes each estimator's fit time, score
and activity to the JSON report named in the arguments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from helpers.core.backend import get_backend
from helpers.rapids.ml import SPECS, MLData, benchmark_estimator
from helpers.rapids.zero_code import profiled, total_activity


def main(argv: list[str]) -> None:
    """Fit every requested estimator with scikit-learn (whatever `import sklearn` gives here) and report."""
    args = json.loads(argv[0])
    arrays = np.load(args["arrays"])
    data = MLData(
        arrays["x_train"],
        arrays["x_test"],
        arrays["y_train"],
        arrays["y_test"],
        args["slow_rows"],
        args["query_rows"],
    )
    cpu = get_backend("cpu")
    estimators = {}
    for name in args["specs"]:
        with profiled("cuml.accel") as activity:
            result = benchmark_estimator(
                cpu, SPECS[name], data, args["seed"], args["warmup"], args["repeats"]
            )
        estimators[name] = {
            "fit_s": result["fit"].median,
            "score": result["score"],
            "activity": activity().to_dict(),
        }
    report = {
        "activity": total_activity([e["activity"] for e in estimators.values()]),
        "estimators": estimators,
    }
    Path(args["report"]).write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
