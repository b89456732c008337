"""Where int8 pays off: a Linear block timed at growing widths, fp32 against int8, on three deployment paths
(PyTorch eager, torch.compile, ONNX Runtime), beside each path's per-call overhead (an identity model's latency).

On a small model every call costs mostly fixed work (Python dispatch, operator launch, quantizing the activations,
allocating outputs); int8 only saves arithmetic, so it pays off once the arithmetic dominates. Each path pairs
its fp32 model with the int8 model that path is built for: `quantize_dynamic`'s fused fbgemm/oneDNN operator in
eager mode, torchao's `Int8Tensor` compiled by Inductor (the path torchao's CPU kernels are written for), and
ONNX Runtime's own dynamic quantization of the exported graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.compression.claims import DEPLOYMENT_PATHS
from helpers.compression.onnx_export import export_onnx, ort_run, ort_session
from helpers.core.benchmark import compare_for, measure_for
from helpers.core.params import require
from helpers.core.stats import Estimate, median_interval

PATHS = DEPLOYMENT_PATHS
EXPANSION = 4  # hidden units per input unit of the block, as in a transformer's feed-forward layer

Runner = Callable[[torch.Tensor], Any]


def linear_block(width: int, seed: int = 0) -> nn.Sequential:
    """Linear(width, 4·width) → ReLU → Linear(4·width, width): a transformer feed-forward layer, untrained (latency
    does not depend on the values of the weights)."""
    require(width >= 1, f"width={width!r} must be ≥ 1.")
    torch.manual_seed(seed)
    hidden = EXPANSION * width
    return nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, width)).eval()


def block_macs(width: int, batch: int) -> int:
    """Multiply-accumulates of one call of linear_block(width) on `batch` rows."""
    return 2 * batch * width * EXPANSION * width


def _compiled(model: nn.Module) -> Runner:
    torch.compiler.reset()  # fresh caches: each width and batch gets its own graph, never the recompile limit
    return torch.compile(model, dynamic=False)


def _onnx_int8(fp32_path: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path = fp32_path.with_suffix(".int8.onnx")
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)
    return int8_path


def _session_runner(path: Path) -> Runner:
    session = ort_session(path)
    return lambda x: ort_run(session, x)


def runners(path: str, model: nn.Module, width: int, workdir: Path) -> tuple[Runner, Runner]:
    """(fp32, int8) callables running `model` on one deployment path; ONNX files are written under `workdir`."""
    # imported here so that importing this module (through the verdicts) never loads torchao
    from helpers.compression.quantization import eager_dynamic_int8, torchao_dynamic_int8

    require(path in PATHS, f"path={path!r} is not one of {', '.join(PATHS)}.")
    if path == "PyTorch eager":
        return model, eager_dynamic_int8(model)[0]
    if path == "torch.compile":
        return _compiled(model), _compiled(torchao_dynamic_int8(model))
    fp32_path = export_onnx(model, torch.zeros(1, width), Path(workdir) / f"block_{width}.onnx")
    return _session_runner(fp32_path), _session_runner(_onnx_int8(fp32_path))


def identity_runner(path: str, workdir: Path) -> Runner:
    """A model that returns its input, on one path: what a call costs when there is nothing to compute."""
    require(path in PATHS, f"path={path!r} is not one of {', '.join(PATHS)}.")
    if path == "PyTorch eager":
        return nn.Identity()
    if path == "torch.compile":
        return _compiled(nn.Identity())
    import onnx

    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["input"], ["output"])],
        "identity",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["batch", "width"])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, ["batch", "width"])],
    )
    file = Path(workdir) / "identity.onnx"
    file.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), file)
    return _session_runner(file)


def _as_array(output: Any) -> np.ndarray:
    return output.detach().numpy() if isinstance(output, torch.Tensor) else np.asarray(output)


@dataclass(frozen=True)
class Int8Timing:
    """fp32 and int8 on one path, width and batch, timed alternately: per-call medians and the speedup."""

    path: str
    width: int
    batch: int
    fp32_ms: float
    int8_ms: float
    round_speedups: tuple[float, ...]  # fp32 time / int8 time of each paired round
    relative_error: float  # max |int8 − fp32| / max |fp32| on the timed batch

    @property
    def speedup(self) -> Estimate:
        """The median speedup over the paired rounds with its order-statistic interval."""
        return median_interval(self.round_speedups, "paired rounds")

    def row(self) -> dict[str, Any]:
        """One table row: the timings, the speedup with its interval, the MACs and the relative error."""
        speedup = self.speedup
        return {
            "path": self.path,
            "width": self.width,
            "batch": self.batch,
            "macs": block_macs(self.width, self.batch),
            "fp32_ms": self.fp32_ms,
            "int8_ms": self.int8_ms,
            "speedup": speedup.value,
            "speedup_low": speedup.low,
            "speedup_high": speedup.high,
            "relative_error": self.relative_error,
            "round_speedups": list(self.round_speedups),
        }


def time_int8(
    path: str, width: int, batch: int, pair: tuple[Runner, Runner], seconds: float, rounds: int
) -> Int8Timing:
    """Time the (fp32, int8) pair of one path alternately on a random batch (helpers.core.benchmark.compare_for)."""
    x = torch.randn(batch, width, generator=torch.Generator().manual_seed(width))
    fp32, int8 = pair
    with torch.inference_mode():
        reference, quantized = _as_array(fp32(x)), _as_array(int8(x))
        timed, calls = compare_for(lambda: fp32(x), lambda: int8(x), seconds, rounds)
    return Int8Timing(
        path,
        width,
        batch,
        1e3 * timed.baseline.median / calls,
        1e3 * timed.candidate.median / calls,
        timed.round_speedups,
        float(np.max(np.abs(quantized - reference)) / max(float(np.max(np.abs(reference))), 1e-12)),
    )


def overhead_ms(path: str, batch: int, width: int, workdir: Path, seconds: float, rounds: int) -> float:
    """Median milliseconds of one identity call on `path` (the per-call floor), timed like the blocks."""
    identity = identity_runner(path, workdir)
    x = torch.randn(batch, width)
    with torch.inference_mode():
        return 1e3 * measure_for(lambda: identity(x), seconds, rounds)


def int8_study(
    widths: Sequence[int],
    batches: Sequence[int],
    workdir: Path,
    seconds: float,
    rounds: int,
    paths: Sequence[str] = PATHS,
) -> tuple[list[Int8Timing], pd.DataFrame]:
    """Every path × width × batch timed fp32 against int8, and every path's identity call: (timings, overheads)."""
    require(rounds >= 2, f"rounds={rounds} must be at least 2 for an interval.")
    unknown = [path for path in paths if path not in PATHS]
    require(not unknown, f"Unknown deployment path(s) {unknown}; choose from {', '.join(PATHS)}.")
    timings, floors = [], []
    for path in paths:
        for width in widths:
            pair = runners(path, linear_block(width), width, workdir)
            timings += [time_int8(path, width, b, pair, seconds, rounds) for b in batches]
        floors += [
            {
                "path": path,
                "batch": b,
                "identity_ms": overhead_ms(path, b, max(widths), workdir, seconds, rounds),
            }
            for b in batches
        ]
    return timings, pd.DataFrame(floors)


def timings_frame(timings: Sequence[Int8Timing]) -> pd.DataFrame:
    """The timings as a table, one row per path, width and batch."""
    return pd.DataFrame([t.row() for t in timings])


def timing_of(timings: Sequence[Int8Timing], path: str, width: int, batch: int) -> Int8Timing:
    """The timing of one path, width and batch."""
    found = [t for t in timings if (t.path, t.width, t.batch) == (path, width, batch)]
    require(
        len(found) == 1,
        f"No timing of {path} at width {width}, batch {batch}; the widths must include {width}.",
    )
    return found[0]


def break_even_width(timings: Sequence[Int8Timing], path: str, batch: int) -> int | None:
    """The smallest width from which int8 is faster at every larger width measured (interval above 1), or None."""
    ordered = sorted((t for t in timings if (t.path, t.batch) == (path, batch)), key=lambda t: t.width)
    for i, timing in enumerate(ordered):
        if all(t.speedup.low > 1 for t in ordered[i:]):
            return timing.width
    return None


def plot_int8_study(timings: pd.DataFrame, floors: pd.DataFrame) -> Figure:
    """Latency against width, one panel per batch: fp32 solid, int8 dashed, each path's identity call dotted."""
    import matplotlib.pyplot as plt

    batches = sorted(timings.batch.unique())
    fig, axes = plt.subplots(1, len(batches), figsize=(5.5 * len(batches), 4.2), squeeze=False)
    colours = dict(zip(PATHS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for ax, batch in zip(axes[0], batches, strict=True):
        for path in [path for path in PATHS if path in set(timings.path)]:
            rows = timings[(timings.path == path) & (timings.batch == batch)].sort_values("width")
            colour = colours[path]
            ax.plot(rows.width, rows.fp32_ms, "o-", color=colour, label=f"{path} fp32")
            ax.plot(rows.width, rows.int8_ms, "s--", color=colour, label=f"{path} int8")
            floor = floors[(floors.path == path) & (floors.batch == batch)].identity_ms.iloc[0]
            ax.axhline(floor, color=colour, linestyle=":", linewidth=1)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="block width (Linear w → 4w → w)",
            ylabel="latency per call (ms)",
            title=f"batch {batch} (dotted: identity model, the per-call floor)",
        )
        ax.set_xticks(sorted(timings.width.unique()), [str(w) for w in sorted(timings.width.unique())])
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    return fig
