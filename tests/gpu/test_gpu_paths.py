"""GPU checks of the shared CUDA paths and of the gpu-profile run: work really on the GPU, timings synchronised."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from helpers.core.benchmark import measure, torch_latency

pytestmark = pytest.mark.gpu
PYTORCH_NOTEBOOKS = ("00", "04", "05", "06", "07", "08", "09", "10")


def test_measure_waits_for_queued_gpu_work():
    cycles = int(torch.cuda.get_device_properties(0).clock_rate * 1e3 * 0.05)  # about 50 ms of spinning
    timing = measure(lambda: torch.cuda._sleep(cycles), warmup=1, repeats=3)
    assert timing.median > 0.02, "an unsynchronised timer would return before the kernel finishes"


def test_torch_latency_runs_a_cuda_model():
    model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU()).cuda().eval()
    x = torch.randn(64, 256, device="cuda")
    assert next(model.parameters()).is_cuda and torch_latency(model, x, min_run_time=0.1).median > 0


def test_every_pytorch_notebook_ran_cleanly_with_the_gpu_profile(gpu_results):
    run = json.loads((Path(os.environ.get("FSL_GPU_RUN", "reports/gpu")) / "run.json").read_text())
    statuses = {n["stem"][:2]: n["status"] for n in run["notebooks"]}
    assert {k: statuses.get(k) for k in PYTORCH_NOTEBOOKS} == dict.fromkeys(PYTORCH_NOTEBOOKS, "ok")
    for stem, results in gpu_results.items():
        assert results["params.profile"] == "gpu", stem
        assert results.get("params.device", "cuda") == "cuda", stem


def test_environment_check_sees_the_gpu(gpu_results):
    results = gpu_results["00_environment_check"]
    assert results["hardware.gpu"] and results["probe.gpu_matmul_gflops"] > results["probe.cpu_matmul_gflops"]


@pytest.mark.parametrize(
    "stem", ["05_compression_pruning", "06_compression_quantization", "08_compression_tradeoffs"]
)
def test_compression_notebooks_record_gpu_latency(gpu_results, stem):
    results = gpu_results[stem]
    gpu_latencies = [v for k, v in results.items() if k.endswith(".gpu_latency_ms_b1")]
    assert gpu_latencies and any(v is not None and v > 0 for v in gpu_latencies)


def test_albert_speed_table_is_measured_at_paper_shapes(gpu_results):
    results = gpu_results["09_albert_parameter_efficiency"]
    assert results["params.seq_len"] == 512 and results["params.width_divisor"] == 1
    for comparison in ("default", "controlled"):
        for model in ("bert-large", "albert-large", "albert-xxlarge"):
            assert results[f"speed.{comparison}.{model}.step_s"] > 0
            assert results[f"speed.{comparison}.{model}.peak_mem_bytes"] > 0


def test_sentence_order_pretraining_ran_on_cuda(gpu_results):
    results = gpu_results["10_albert_sentence_order"]
    assert results["params.device"] == "cuda"
    assert all(0 <= results[f"table5.{t}.sop_acc_mean"] <= 1 for t in ("mlm", "nsp", "sop"))


def test_rapids_notebooks_ran_and_zero_code_modes_report_gpu_work():
    run_dir = Path(os.environ.get("FSL_GPU_RAPIDS_RUN", "reports/gpu-rapids"))
    if not (run_dir / "run.json").exists():
        pytest.fail(f"No RAPIDS run in {run_dir}: run `bash tests/gpu/run.sh` first.")
    run = json.loads((run_dir / "run.json").read_text())
    assert {n["stem"][:2]: n["status"] for n in run["notebooks"]} == {"01": "ok", "02": "ok", "03": "ok"}
    etl = json.loads((run_dir / "01_rapids_dataframes.results.json").read_text())
    ml = json.loads((run_dir / "02_rapids_machine_learning.results.json").read_text())
    from helpers.core.environment import rapids_status

    if rapids_status()["available"]:
        # the libraries' own signals: active, and their profilers saw calls run on the GPU
        assert etl["etl.cudf_pandas_activity"]["active"] and etl["etl.cudf_pandas_activity"]["gpu_calls"] > 0
        assert ml["ml.accel_activity"]["active"] and ml["ml.accel_activity"]["gpu_calls"] > 0
    else:
        assert etl["etl.cudf_s"] is None and ml["ml.accel_fit_speedups"] is None
