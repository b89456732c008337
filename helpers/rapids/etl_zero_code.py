"""The pandas ETL pipeline as a script, for `python -m cudf.pandas helpers/rapids/etl_zero_code.py '<json>'`.

It imports plain `pandas`; under `-m cudf.pandas` that import is the GPU-accelerated proxy, so the very same
code runs on cuDF with zero changes. After the timed runs, one more untimed run under cudf.pandas' own profiler
records how many pandas calls ran on the GPU and which fell back to the CPU. It writes its timings, result and
that activity to the JSON report named in the arguments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from helpers.rapids.etl import EtlInputs, run_etl, time_etl
from helpers.rapids.zero_code import profiled


def main(argv: list[str]) -> None:
    """Time the pipeline with `pandas` (whatever `import pandas` gives here), profile one run, write the report."""
    args = json.loads(argv[0])
    inputs = EtlInputs(Path(args["parquet"]), Path(args["csv"]), Path(args["airports"]), int(args["rows"]))
    out_dir = Path(args["out_dir"])
    timing = time_etl(pd, inputs, out_dir, args["warmup"], args["repeats"], "pandas")
    with profiled("cudf.pandas") as activity:
        run_etl(pd, inputs, out_dir)
    report = {
        "activity": activity().to_dict(),
        "steps": {name: t.median for name, t in timing.steps.items()},
        "total": timing.total.to_dict(),
        "summary": {
            k: [v.item() if hasattr(v, "item") else v for v in vs]
            for k, vs in timing.result.summary.to_dict(orient="list").items()
        },
        "checks": timing.result.checks,
    }
    Path(args["report"]).write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
