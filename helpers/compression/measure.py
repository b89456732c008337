"""Measure a compressed model variant the same way everywhere (04–08): one row format for every notebook.

For each variant: parameter count (and non-zeros), serialized size in bytes (`torch.save` of the state_dict into
memory — what would ship to a device), MACs, CPU latency at batch 1 and 64 (torch.utils.benchmark through
helpers.core.benchmark.torch_latency, thread count recorded), GPU latency at batch 1 when CUDA is present, and
held-out accuracy as mean ± std over seeds. One row format, `VariantResult`, holds all of it.

MACs come from PyTorch's own `torch.utils.flop_counter.FlopCounterMode`, which counts FLOPs of the aten
convolution and matrix-multiply ops a forward pass dispatches; one multiply-accumulate is 2 FLOPs, so
MACs = FLOPs / 2. Element-wise ops (BatchNorm, ReLU, softmax, add) are not counted. Layers that run opaque
quantized kernels (e.g. `torch.ao` dynamic int8 Linear) are invisible to it; then MACs are reported as None with
the reason, never as a too-small number. Zeros in a dense weight (unstructured pruning) still cost MACs on dense
kernels, and they are counted.

The latency ratios behind the efficiency verdicts are not taken from two such rows, which were timed minutes apart:
`paired_latency` times the variant and its reference alternately, round after round, in one run, and the ratio is
the median of the rounds' ratios, so that a machine that slows down or speeds up in between moves both alike.
"""

from __future__ import annotations

import copy
import io
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from helpers.core.benchmark import compare_for, cpu_threads, torch_latency
from helpers.core.environment import cuda_available
from helpers.core.model_size import ParamCount, count_params, packed_weight
from helpers.core.results import record
from helpers.core.stats import mean_std

MAC_COUNTER = "torch.utils.flop_counter.FlopCounterMode (MACs = counted FLOPs / 2; conv and matmul ops only)"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass
class VariantResult:
    """One model variant measured: the row format shared by notebooks 04–08 (and their charts)."""

    name: str
    method: str  # baseline, architecture, pruning, quantization, distillation, combination
    params: int
    nonzero_params: int
    size_bytes: int
    macs: int | None
    latency_ms_b1: float
    latency_ms_b64: float
    gpu_latency_ms_b1: float | None
    accuracy_mean: float
    accuracy_std: float
    seeds: list[int]
    per_seed_accuracy: list[float]
    latency_iqr_ms_b1: float = 0.0
    threads: int = 1
    input_shape: list[int] | None = None  # (C, H, W) MACs are counted at
    latency_resolution: int | None = None  # H = W of the timed inputs, when upsampled
    notes: str = ""  # why a field is None, or anything a reader needs to interpret the row


def serialized_size(model: Any) -> int:
    """Bytes of `torch.save(model.state_dict())` in memory (an ExportedProgram: bytes of `torch.export.save`).

    Call torch.nn.utils.prune.remove first on pruned layers: while pruning is attached the state_dict holds both
    weight_orig and weight_mask, which is not what would ship.
    """
    buffer = io.BytesIO()
    if isinstance(model, torch.export.ExportedProgram):
        torch.export.save(model, buffer)
    else:
        torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def count_macs(model: nn.Module, example: torch.Tensor) -> tuple[int | None, str]:
    """(MACs of one forward pass on `example`, note): None with the reason when some layer's compute is invisible."""
    from torch.utils.flop_counter import FlopCounterMode

    weighted = [
        (name, m)
        for name, m in model.named_modules()
        if packed_weight(m) is not None
        or any(p.dim() >= 2 for n, p in m.named_parameters(recurse=False) if "weight" in n)
    ]
    blind: list[str] = []
    counter = FlopCounterMode(display=False)

    def watch(name: str, module: nn.Module):
        before: list[int] = []
        pre = module.register_forward_pre_hook(lambda *_: before.append(counter.get_total_flops()))
        post = module.register_forward_hook(
            lambda *_: blind.append(name) if counter.get_total_flops() == before.pop() else None
        )
        return pre, post

    hooks = [h for name, m in weighted for h in watch(name, m)]
    try:
        with counter, torch.no_grad():
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
    if blind:
        shown = ", ".join(sorted({type(dict(weighted)[n]).__name__ for n in blind}))
        return None, f"MACs not counted: {MAC_COUNTER.split(' (')[0]} cannot see inside {shown} layers"
    flops = counter.get_total_flops()
    if flops == 0:
        return None, "MACs not counted: the counter saw no convolution or matrix multiply"
    return flops // 2, ""


def _device_of(model: nn.Module) -> torch.device:
    tensor = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def _on_cpu(model: nn.Module) -> nn.Module:
    """`model` in eval mode on the CPU (a copy when it lives elsewhere)."""
    if _device_of(model).type != "cpu":
        model = copy.deepcopy(model).to("cpu")
    model.eval()  # not `return model.eval()`: an exported graph's eval() returns None
    return model


def latency_batches(inputs: torch.Tensor, batch_large: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The timed batches: the first image alone, and `batch_large` images (those of `inputs`, repeated)."""
    return inputs[:1].contiguous(), inputs[torch.arange(batch_large) % len(inputs)].contiguous()


def cpu_latency_ms(
    model: nn.Module, example: torch.Tensor, min_run_time: float = 0.3, threads: int | None = None
) -> tuple[float, float]:
    """(median, IQR) in milliseconds of model(example) on the CPU, via helpers.core.benchmark.torch_latency."""
    timing = torch_latency(model, example, min_run_time=min_run_time, threads=threads)
    return timing.median * 1e3, timing.iqr * 1e3


def gpu_latency_ms(
    model: nn.Module, example: torch.Tensor, min_run_time: float = 0.3
) -> tuple[float | None, str]:
    """(median ms of model(example) on the GPU, note); None with the reason when there is no GPU or it cannot run."""
    if not cuda_available():
        return None, "no CUDA GPU is visible"
    try:
        on_gpu = copy.deepcopy(model).to("cuda").eval()
        timing = torch_latency(on_gpu, example.to("cuda"), min_run_time=min_run_time)
    except (RuntimeError, NotImplementedError) as error:
        return None, f"GPU latency not measured: this variant does not run on CUDA ({type(error).__name__})"
    return timing.median * 1e3, ""


def measure_variant(
    name: str,
    method: str,
    model: nn.Module,
    example: torch.Tensor,
    per_seed_accuracy: Sequence[float],
    seeds: Sequence[int],
    latency_example: torch.Tensor | None = None,
    batch_large: int = 64,
    min_run_time: float = 0.3,
    threads: int | None = None,
    params: ParamCount | None = None,
    timed: nn.Module | None = None,
    stored: Any = None,
    gpu: bool = True,
    note: str = "",
) -> VariantResult:
    """Measure a trained variant: size, MACs (on `example[:1]`), CPU latency at batch 1 and `batch_large`, GPU
    latency when present, and the accuracy summary of its seeds.

    `example` is a batch of real inputs (N, C, H, W); latency uses `latency_example` instead when given (e.g.
    helpers.compression.data.latency_input at a larger resolution; its first image is batch 1, and it is repeated
    along the batch axis for `batch_large`). `params` overrides the counted (params, nonzero) when the model hides
    its weights (e.g. a converted PT2E graph). The model is measured on the CPU (a copy goes to the GPU). When
    what ships differs from the network it computes (a lowered int8 graph), `timed` is what gets timed and
    `stored` what gets serialized (both default to `model`); `gpu=False` skips GPU latency; `note` is kept.
    """
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"Variant name {name!r} must be letters, digits, '_' or '-' (it becomes a results key)."
        )
    if len(per_seed_accuracy) != len(seeds) or not seeds:
        raise ValueError(
            f"{name}: give one accuracy per seed ({len(per_seed_accuracy)} accuracies, {len(seeds)} seeds)."
        )
    model = _on_cpu(model)
    inputs = (latency_example if latency_example is not None else example).to("cpu")
    one, many = latency_batches(inputs, batch_large)
    total, nonzero = params if params is not None else count_params(model)
    macs, macs_note = count_macs(model, example[:1].to("cpu"))
    runner = timed if timed is not None else model
    b1, b1_iqr = cpu_latency_ms(runner, one, min_run_time, threads)
    b64, _ = cpu_latency_ms(runner, many, min_run_time, threads)
    gpu_b1, gpu_note = gpu_latency_ms(model, one, min_run_time) if gpu else (None, "")
    mean, std, _ = mean_std(per_seed_accuracy)
    notes = "; ".join(n for n in (macs_note, gpu_note, note) if n)
    return VariantResult(
        name,
        method,
        int(total),
        int(nonzero),
        serialized_size(stored if stored is not None else model),
        macs,
        b1,
        b64,
        gpu_b1,
        mean,
        std,
        [int(s) for s in seeds],
        [float(a) for a in per_seed_accuracy],
        b1_iqr,
        threads or torch.get_num_threads(),
        list(example.shape[1:]),
        int(inputs.shape[-1]) if latency_example is not None else None,
        notes,
    )


# Rounds of a paired latency run: each times the reference and the variant once, back to back.
PAIRED_ROUNDS = 15


@dataclass(frozen=True)
class PairedLatency:
    """A variant's CPU latency timed alternately with its reference's in one run, at batch 1 ("b1") and at a large
    batch ("large"): per round, reference time / variant time (> 1: the variant is faster)."""

    reference: str
    variant: str
    batch_large: int
    calls: dict[str, int]  # inferences per timed sample, per batch
    ratios: dict[str, tuple[float, ...]]  # per batch, one ratio per round

    def ratio(self, batch: str) -> float:
        """Median over rounds of the latency ratio at `batch` (at "large" also the throughput ratio)."""
        return statistics.median(self.ratios[batch])

    def spread(self, batch: str) -> tuple[float, float]:
        """First and third quartile of the round ratios at `batch`."""
        q1, _, q3 = statistics.quantiles(self.ratios[batch], n=4, method="inclusive")
        return q1, q3

    def to_dict(self) -> dict[str, Any]:
        """Every field and the median ratio per batch, for results.json."""
        return {**asdict(self), "median": {batch: self.ratio(batch) for batch in self.ratios}}


def paired_latency(
    reference: tuple[str, nn.Module],
    variant: tuple[str, nn.Module],
    example: torch.Tensor,
    min_run_time: float,
    threads: int | None = None,
    batch_large: int = 64,
    rounds: int = PAIRED_ROUNDS,
) -> PairedLatency:
    """Time (name, model) `variant` against (name, model) `reference` on the CPU, alternately in `rounds` rounds
    (helpers.core.benchmark.compare: ABBA order), at batch 1 (`example[:1]`) and at `batch_large` (the images of
    `example` repeated), each sample about min_run_time / rounds seconds of the reference's inferences."""
    if rounds < 2:
        raise ValueError(f"rounds={rounds} must be at least 2 for a spread.")
    (reference_name, reference_model), (variant_name, variant_model) = reference, variant
    batches = dict(zip(("b1", "large"), latency_batches(example.to("cpu"), batch_large), strict=True))
    models = [_on_cpu(m) for m in (reference_model, variant_model)]
    calls, ratios = {}, {}
    with cpu_threads(threads), torch.inference_mode():
        for batch, x in batches.items():
            timed, calls[batch] = compare_for(
                lambda x=x: models[0](x), lambda x=x: models[1](x), min_run_time, rounds
            )
            ratios[batch] = timed.round_speedups
    return PairedLatency(reference_name, variant_name, batch_large, calls, ratios)


def record_variant(v: VariantResult) -> VariantResult:
    """Record every field of `v` as `model.<name>.<field>` (params, size_bytes, macs, latency_ms_b1, accuracy_*…)."""
    for key, value in asdict(v).items():
        if key != "name":
            record(f"model.{v.name}.{key}", value)
    return v


def variants_frame(variants: Sequence[VariantResult]):
    """The variants as a pandas DataFrame indexed by name, one row each, in the VariantResult field order."""
    import pandas as pd

    return pd.DataFrame([asdict(v) for v in variants]).set_index("name")


def variants_from_results(results: dict[str, Any]) -> list[VariantResult]:
    """Rebuild VariantResults from a results dict recorded with `record_variant` (e.g. a loaded results.json)."""
    names = dict.fromkeys(
        k.split(".")[1] for k in results if k.startswith("model.") and k.endswith(".params")
    )
    known = [f.name for f in fields(VariantResult) if f.name != "name"]
    return [
        VariantResult(
            name, **{k: results[f"model.{name}.{k}"] for k in known if f"model.{name}.{k}" in results}
        )
        for name in names
    ]


def efficiency_ratios(reference: VariantResult, variant: VariantResult) -> dict[str, float | None]:
    """reference / variant for size, MACs, CPU latency at batch 1 and 64, and GPU latency (None when missing)."""

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b not in (None, 0) else None

    return {
        "size": ratio(reference.size_bytes, variant.size_bytes),
        "macs": ratio(reference.macs, variant.macs),
        "latency_b1": ratio(reference.latency_ms_b1, variant.latency_ms_b1),
        "latency_b64": ratio(reference.latency_ms_b64, variant.latency_ms_b64),
        "gpu_latency_b1": ratio(reference.gpu_latency_ms_b1, variant.gpu_latency_ms_b1),
    }


def plot_variants(variants: Sequence[VariantResult], title: str = ""):
    """Figure: accuracy (mean ± std over seeds) against serialized size, and CPU latency at batch 1 and 64."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogFormatter, ScalarFormatter

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for v in variants:
        left.errorbar(
            v.size_bytes / 1024, v.accuracy_mean, yerr=v.accuracy_std, fmt="o", capsize=4, label=v.name
        )
    left.set(xscale="log", xlabel="serialized size (KiB, log scale)", ylabel="test accuracy (mean ± std)")
    left.xaxis.set_major_formatter(ScalarFormatter())
    # within a decade, label the minor ticks too, as plain short numbers ("30", not "3×10¹", which overlap)
    left.xaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
    left.legend(fontsize="small")
    names = [v.name for v in variants]
    positions = range(len(variants))
    right.bar([i - 0.2 for i in positions], [v.latency_ms_b1 for v in variants], 0.4, label="batch 1")
    right.bar([i + 0.2 for i in positions], [v.latency_ms_b64 for v in variants], 0.4, label="batch 64")
    right.set(yscale="log", ylabel="CPU latency (ms, median, log scale)", xticks=list(positions))
    right.set_xticklabels(names, rotation=20, ha="right")
    # above the bars, not among them: where the bars leave room depends on the latencies this run measured
    right.legend(fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
