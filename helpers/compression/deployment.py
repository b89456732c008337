"""Where a smaller model pays off: a baseline and a candidate timed alternately at growing sizes on three
deployment paths (PyTorch eager, torch.compile, ONNX Runtime), beside each path's per-call overhead (an identity
model's latency).

On a small model every call costs mostly fixed work (Python dispatch, operator launch, quantizing the activations,
allocating outputs); a compression method only saves arithmetic, so it pays off once the arithmetic dominates. Two
studies share the timing: int8 against fp32 on a Linear block, where each path pairs its fp32 model with the int8
model that path is built for (`quantize_dynamic`'s fused fbgemm/oneDNN operator in eager mode, torchao's
`Int8Tensor` compiled by Inductor, ONNX Runtime's own dynamic quantization of the exported graph), and the CNN
against a structurally smaller CNN (depthwise-separable blocks, or channels pruned away), the same fp32 graph on
every path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers.compression.claims import COMPUTE_BOUND_WIDTH_MULT, DEPLOYMENT_PATHS
from helpers.compression.onnx_export import export_onnx, ort_run, ort_session
from helpers.core.benchmark import compare_for, measure_for
from helpers.core.environment import int8_dot_product_instructions
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
    """ONNX Runtime's dynamic int8 quantization of the exported graph; on a CPU without VNNI or AMX its u8×s8 kernels
    add pairs of products in 16 bits, which saturate, so weights there keep a 7-bit range (`reduce_range`)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path = fp32_path.with_suffix(".int8.onnx")
    reduce_range = not int8_dot_product_instructions()
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, reduce_range=reduce_range)
    return int8_path


def _session_runner(path: Path) -> Runner:
    session = ort_session(path)
    return lambda x: ort_run(session, x)


def _require_path(path: str) -> None:
    require(path in PATHS, f"path={path!r} is not one of {', '.join(PATHS)}.")


def path_runner(path: str, model: nn.Module, example: torch.Tensor, file: Path) -> Runner:
    """A callable running fp32 `model` on one deployment path (ONNX: exported to `file` from `example`)."""
    _require_path(path)
    if path == "PyTorch eager":
        return model
    if path == "torch.compile":
        return _compiled(model)
    return _session_runner(export_onnx(model, example, file))


def runners(path: str, model: nn.Module, width: int, workdir: Path) -> tuple[Runner, Runner]:
    """(fp32, int8) callables running `model` on one deployment path; ONNX files are written under `workdir`."""
    # imported here so that importing this module (through the verdicts) never loads torchao
    from helpers.compression.quantization import eager_dynamic_int8, torchao_dynamic_int8

    _require_path(path)
    fp32 = path_runner(path, model, torch.zeros(1, width), Path(workdir) / f"block_{width}.onnx")
    if path == "PyTorch eager":
        return fp32, eager_dynamic_int8(model)[0]
    if path == "torch.compile":
        return fp32, _compiled(torchao_dynamic_int8(model))
    return fp32, _session_runner(_onnx_int8(Path(workdir) / f"block_{width}.onnx"))


def identity_runner(path: str, workdir: Path, rank: int = 2) -> Runner:
    """A model that returns its input (of `rank` axes), on one path: what a call costs when there is nothing to
    compute."""
    _require_path(path)
    if path == "PyTorch eager":
        return nn.Identity()
    if path == "torch.compile":
        return _compiled(nn.Identity())
    import onnx

    axes = ["batch", *(f"axis{k}" for k in range(1, rank))]
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["input"], ["output"])],
        "identity",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, axes)],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, axes)],
    )
    file = Path(workdir) / f"identity_{rank}d.onnx"
    file.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), file)
    return _session_runner(file)


def _as_array(output: Any) -> np.ndarray:
    return output.detach().numpy() if isinstance(output, torch.Tensor) else np.asarray(output)


@dataclass(frozen=True)
class PairTiming:
    """A baseline and a candidate model on one path, width and batch, timed alternately: per-call medians, their
    MACs and the speedup."""

    path: str
    width: int
    batch: int
    baseline_ms: float
    candidate_ms: float
    round_speedups: tuple[float, ...]  # baseline time / candidate time of each paired round
    macs: tuple[int, int]  # (baseline, candidate) multiply-accumulates of one call
    relative_error: float | None = (
        None  # max |candidate − baseline| / max |baseline|, when both compute one function
    )

    @property
    def speedup(self) -> Estimate:
        """The median speedup over the paired rounds with its order-statistic interval."""
        return median_interval(self.round_speedups, "paired rounds")

    def row(self, labels: tuple[str, str] = ("baseline", "candidate")) -> dict[str, Any]:
        """One table row: the timings (columns named by `labels`), the speedup with its interval, the MAC ratio
        and, where it applies, the relative error."""
        speedup = self.speedup
        baseline, candidate = labels
        return {
            "path": self.path,
            "width": self.width,
            "batch": self.batch,
            "macs": self.macs[0],
            "macs_ratio": self.macs[0] / self.macs[1],
            f"{baseline}_ms": self.baseline_ms,
            f"{candidate}_ms": self.candidate_ms,
            "speedup": speedup.value,
            "speedup_low": speedup.low,
            "speedup_high": speedup.high,
            **({} if self.relative_error is None else {"relative_error": self.relative_error}),
            "round_speedups": list(self.round_speedups),
        }


INT8_LABELS = ("fp32", "int8")


def time_pair(
    path: str,
    width: int,
    x: torch.Tensor,
    pair: tuple[Runner, Runner],
    macs: tuple[int, int],
    seconds: float,
    rounds: int,
    same_function: bool = False,
) -> PairTiming:
    """Time the (baseline, candidate) pair of one path alternately on `x` (helpers.core.benchmark.compare_for);
    with `same_function`, also how far the candidate's outputs are from the baseline's."""
    baseline, candidate = pair
    with torch.inference_mode():
        reference, approximate = _as_array(baseline(x)), _as_array(candidate(x))
        timed, calls = compare_for(lambda: baseline(x), lambda: candidate(x), seconds, rounds)
    error = float(np.max(np.abs(approximate - reference)) / max(float(np.max(np.abs(reference))), 1e-12))
    return PairTiming(
        path,
        width,
        len(x),
        1e3 * timed.baseline.median / calls,
        1e3 * timed.candidate.median / calls,
        timed.round_speedups,
        macs,
        error if same_function else None,
    )


def time_int8(
    path: str, width: int, batch: int, pair: tuple[Runner, Runner], seconds: float, rounds: int
) -> PairTiming:
    """Time the (fp32, int8) pair of one path alternately on a random batch of the Linear block."""
    x = torch.randn(batch, width, generator=torch.Generator().manual_seed(width))
    macs = block_macs(width, batch)
    return time_pair(path, width, x, pair, (macs, macs), seconds, rounds, same_function=True)


def overhead_ms(path: str, x: torch.Tensor, workdir: Path, seconds: float, rounds: int) -> float:
    """Median milliseconds of one identity call on `path` with input `x` (the per-call floor), timed like the
    models."""
    identity = identity_runner(path, workdir, x.dim())
    with torch.inference_mode():
        return 1e3 * measure_for(lambda: identity(x), seconds, rounds)


def _floor_rows(
    path: str,
    batches: Sequence[int],
    input_shape: tuple[int, ...],
    workdir: Path,
    seconds: float,
    rounds: int,
) -> list[dict[str, Any]]:
    """One row per batch: the identity call's milliseconds on `path` with inputs of `input_shape` per example."""
    return [
        {
            "path": path,
            "batch": b,
            "identity_ms": overhead_ms(path, torch.randn(b, *input_shape), workdir, seconds, rounds),
        }
        for b in batches
    ]


def _check_study(rounds: int, paths: Sequence[str], prefix: str = "") -> None:
    require(rounds >= 2, f"{prefix}rounds={rounds} must be at least 2 for an interval.")
    unknown = [path for path in paths if path not in PATHS]
    require(
        not unknown, f"Unknown deployment path(s) {unknown} in {prefix}paths; choose from {', '.join(PATHS)}."
    )


def check_deployment_study(
    width_mults: Sequence[float], paths: Sequence[str], rounds: int, prefix: str
) -> None:
    """Refuse a notebook's CNN deployment-study parameters (`<prefix>_width_mults`, `_paths`, `_rounds`) with one
    sentence: the widths must be positive and include the compute-bound one the claims are judged at."""
    require(
        all(m > 0 for m in width_mults) and COMPUTE_BOUND_WIDTH_MULT in width_mults,
        f"{prefix}_width_mults={list(width_mults)} must be positive and include {COMPUTE_BOUND_WIDTH_MULT}, the "
        "width where the compute-bound claims are judged.",
    )
    _check_study(rounds, paths, f"{prefix}_")


def int8_study(
    widths: Sequence[int],
    batches: Sequence[int],
    workdir: Path,
    seconds: float,
    rounds: int,
    paths: Sequence[str] = PATHS,
) -> tuple[list[PairTiming], pd.DataFrame]:
    """Every path × width × batch timed fp32 against int8, and every path's identity call: (timings, overheads)."""
    _check_study(rounds, paths)
    timings, floors = [], []
    for path in paths:
        for width in widths:
            pair = runners(path, linear_block(width), width, workdir)
            timings += [time_int8(path, width, b, pair, seconds, rounds) for b in batches]
        floors += _floor_rows(path, batches, (max(widths),), workdir, seconds, rounds)
    return timings, pd.DataFrame(floors)


def structure_study(
    pairs: Mapping[int, tuple[nn.Module, nn.Module]],
    input_shape: tuple[int, ...],
    batches: Sequence[int],
    workdir: Path,
    seconds: float,
    rounds: int,
    paths: Sequence[str] = PATHS,
) -> tuple[list[PairTiming], pd.DataFrame]:
    """For each width, its (baseline, candidate) fp32 models timed alternately on every path and batch (inputs of
    `input_shape` per example), and every path's identity call at each batch: (timings, overheads).
    MACs are counted on the models themselves, so a smaller model shows how much arithmetic it saves."""
    from helpers.compression.measure import count_macs

    _check_study(rounds, paths)
    timings, floors = [], []
    for path in paths:
        for width, models in pairs.items():
            example = torch.randn(1, *input_shape, generator=torch.Generator().manual_seed(width))
            per_example = tuple(count_macs(m.eval(), example)[0] or 0 for m in models)
            pair = tuple(
                path_runner(path, m, example, Path(workdir) / f"{name}_{width}.onnx")
                for m, name in zip(models, ("baseline", "candidate"), strict=True)
            )
            for b in batches:
                x = torch.randn(b, *input_shape, generator=torch.Generator().manual_seed(b))
                macs = (b * per_example[0], b * per_example[1])
                timings.append(time_pair(path, width, x, pair, macs, seconds, rounds))
        floors += _floor_rows(path, batches, input_shape, workdir, seconds, rounds)
    return timings, pd.DataFrame(floors)


def timings_frame(timings: Sequence[PairTiming], labels: tuple[str, str] = INT8_LABELS) -> pd.DataFrame:
    """The timings as a table, one row per path, width and batch, the two models' columns named by `labels`."""
    return pd.DataFrame([t.row(labels) for t in timings])


def timing_of(timings: Sequence[PairTiming], path: str, width: int, batch: int) -> PairTiming:
    """The timing of one path, width and batch."""
    found = [t for t in timings if (t.path, t.width, t.batch) == (path, width, batch)]
    require(
        len(found) == 1,
        f"No timing of {path} at width {width}, batch {batch}; the widths must include {width}.",
    )
    return found[0]


def break_even_width(timings: Sequence[PairTiming], path: str, batch: int) -> int | None:
    """The smallest width from which the candidate is faster at every larger width measured (interval above 1), or
    None."""
    ordered = sorted((t for t in timings if (t.path, t.batch) == (path, batch)), key=lambda t: t.width)
    for i, timing in enumerate(ordered):
        if all(t.speedup.low > 1 for t in ordered[i:]):
            return timing.width
    return None


@dataclass(frozen=True)
class PaysOff:
    """Where the candidate pays off on one path and batch: its break-even width and one sentence saying so."""

    path: str
    batch: int
    break_even: int | None
    sentence: str


def where_it_pays_off(
    timings: Sequence[PairTiming], floors: pd.DataFrame, labels: tuple[str, str] = INT8_LABELS
) -> list[PaysOff]:
    """Per path and batch timed: the break-even width, and a sentence giving it beside the speedup at the smallest
    width and the share of the baseline's call that a bare call on that path costs."""
    baseline, candidate = labels
    smallest = min(t.width for t in timings)
    found = []
    for path, batch in sorted({(t.path, t.batch) for t in timings}, key=lambda k: (PATHS.index(k[0]), k[1])):
        width = break_even_width(timings, path, batch)
        floor = floors[(floors.path == path) & (floors.batch == batch)].identity_ms.iloc[0]
        small = timing_of(timings, path, smallest, batch)
        pays = (
            f"{candidate} is faster from width {width} on"
            if width is not None
            else f"{candidate} is not faster at any width measured"
        )
        found.append(
            PaysOff(
                path,
                batch,
                width,
                f"{path}, batch {batch}: {pays}; at width {smallest}, {candidate} runs at {small.speedup.value:.2f}× "
                f"{baseline}'s speed, and a bare call on this path costs {1e3 * floor:.1f} µs of the {baseline} "
                f"model's {1e3 * small.baseline_ms:.1f} µs.",
            )
        )
    return found


def compute_bound_sentence(
    timings: Sequence[PairTiming], path: str, width: int, labels: tuple[str, str] = INT8_LABELS
) -> str:
    """One sentence: the candidate's speedup over the baseline at `width` on `path`, at batch 1 and batch 64, each
    with its interval."""
    baseline, candidate = labels
    at = {b: timing_of(timings, path, width, b).speedup for b in (1, 64)}
    return (
        f"{path}, width {width}: {candidate} runs at {at[1].value:.2f}× {baseline}'s speed at batch 1 "
        f"({at[1].interval_text()}), {at[64].value:.2f}× at batch 64 ({at[64].interval_text()})."
    )


def plot_pair_study(
    timings: pd.DataFrame,
    floors: pd.DataFrame,
    labels: tuple[str, str] = INT8_LABELS,
    xlabel: str = "block width (Linear w → 4w → w)",
) -> Figure:
    """Latency against width, one panel per batch: the baseline solid, the candidate dashed, each path's identity
    call dotted."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    baseline, candidate = labels
    batches = sorted(timings.batch.unique())
    fig, axes = plt.subplots(1, len(batches), figsize=(5.5 * len(batches), 4.2), squeeze=False)
    colours = dict(zip(PATHS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for ax, batch in zip(axes[0], batches, strict=True):
        for path in [path for path in PATHS if path in set(timings.path)]:
            rows = timings[(timings.path == path) & (timings.batch == batch)].sort_values("width")
            colour = colours[path]
            ax.plot(rows.width, rows[f"{baseline}_ms"], "o-", color=colour, label=f"{path} {baseline}")
            ax.plot(rows.width, rows[f"{candidate}_ms"], "s--", color=colour, label=f"{path} {candidate}")
            floor = floors[(floors.path == path) & (floors.batch == batch)].identity_ms.iloc[0]
            ax.axhline(floor, color=colour, linestyle=":", linewidth=1)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel=xlabel,
            ylabel="latency per call (ms)",
            title=f"batch {batch} (dotted: identity model, the per-call floor)",
        )
        ax.set_xticks(sorted(timings.width.unique()), [str(w) for w in sorted(timings.width.unique())])
        ax.xaxis.set_minor_locator(NullLocator())  # only the widths measured are labelled
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    return fig
