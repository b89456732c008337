"""helpers.rapids.zero_code.launch: the launched script's environment, in a real child process."""

from __future__ import annotations

import json
import os

from helpers.rapids.release import ROOT
from helpers.rapids.zero_code import launch

SCRIPT = """
import json, os, sys
args = json.loads(sys.argv[1])
with open(args["report"], "w") as out:
    json.dump({"environ": dict(os.environ), "path": sys.path}, out)
"""


def test_the_launched_script_runs_without_the_markers_dask_cuda_and_the_runner_leave(tmp_path, monkeypatch):
    # what notebook 01's Dask cell leaves behind: LocalCUDACluster sets RAPIDS_NO_INITIALIZE=True in the notebook
    monkeypatch.setenv("RAPIDS_NO_INITIALIZE", "True")
    monkeypatch.setenv("FSL_OUT_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("FSL_KEPT", "yes")
    script = tmp_path / "environ.py"
    script.write_text(SCRIPT)
    seen = launch(script, {}, tmp_path / "report.json", None, timeout_s=60)
    assert "RAPIDS_NO_INITIALIZE" not in seen["environ"] and "FSL_OUT_DIR" not in seen["environ"]
    assert seen["environ"]["FSL_KEPT"] == "yes" and str(ROOT) in seen["path"]
    assert os.environ["RAPIDS_NO_INITIALIZE"] == "True"  # the notebook's own environment is left as it was
    assert json.loads((tmp_path / "report.json").read_text()) == seen
