"""Int8 quantization: dynamic (torchao `quantize_` and the deprecated `torch.ao` `quantize_dynamic`) and static PT2E.

Dynamic quantization stores Linear weights as int8 and quantizes activations on the fly at run time. Static PT2E
quantization captures the model with `torch.export`, lets `X86InductorQuantizer` annotate it (int8 per-channel
weights, uint8 per-tensor activations), observes activation ranges on a calibration set (`prepare_pt2e`, then
forward passes), and freezes them (`convert_pt2e`). The converted graph still computes with fp32 kernels between
quantize/dequantize pairs; `lower_pt2e_quantized_to_x86` rewrites those patterns into oneDNN int8 kernels, for
one fixed input shape, and only for x86 CPUs.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
from torchao.quantization.pt2e import allow_exported_model_train_eval
from torchao.quantization.pt2e.lowering import lower_pt2e_quantized_to_x86
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
    X86InductorQuantizer,
    get_default_x86_inductor_quantization_config,
)

from helpers.compression.measure import VariantResult, measure_variant, serialized_size
from helpers.core.noise import native_stderr_silenced

INT8_FRACTION_OF_FP32 = 0.25  # the physical limit: one byte instead of four per weight
TORCHAO_CONFIG = "Int8DynamicActivationInt8WeightConfig"


def torchao_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of `model` whose nn.Linear weights are torchao Int8Tensor subclasses (dynamic int8 activations)."""
    quantized = copy.deepcopy(model).eval()
    quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
    return quantized


def eager_dynamic_int8(model: nn.Module) -> tuple[nn.Module, list[str]]:
    """A CPU copy of `model` with nn.Linear → torch.ao DynamicQuantizedLinear (fbgemm/oneDNN), and its warnings.

    `torch.ao.quantization.quantize_dynamic` is deprecated; the deprecation warnings it raises are returned (first
    line of each, deduplicated) so the notebook can show them instead of hiding them.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quantized = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model).to("cpu").eval(), {nn.Linear}, dtype=torch.qint8
        )
    messages = dict.fromkeys(str(w.message).strip().splitlines()[0] for w in caught)
    return quantized, list(messages)


def linear_weight(module: nn.Module) -> torch.Tensor | None:
    """The weight of a Linear layer as stored: fp32 Parameter, torchao Int8Tensor, or torch.ao qint8 tensor."""
    if isinstance(module, nn.Linear):
        return module.weight.detach()
    if hasattr(module, "_packed_params") and callable(getattr(module, "weight", None)):
        return module.weight()
    return None


def linear_weight_bytes(model: nn.Module) -> int:
    """Serialized bytes (`torch.save`) of all Linear weights of `model` together, without biases or other layers."""
    weights = {name: w for name, m in model.named_modules() if (w := linear_weight(m)) is not None}
    if not weights:
        raise ValueError("linear_weight_bytes: the model has no Linear layers.")
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    return buffer.getbuffer().nbytes


def weight_dtypes(model: nn.Module) -> dict[str, str]:
    """The stored dtype of each Linear weight ('int8' for both quantized kinds), to show what was converted."""
    found = {}
    for name, module in model.named_modules():
        weight = linear_weight(module)
        if weight is not None:
            inner = getattr(weight, "qdata", None)
            dtype = (
                inner.dtype if inner is not None else (torch.int8 if weight.is_quantized else weight.dtype)
            )
            found[name] = str(dtype).removeprefix("torch.")
    return found


def export_for_quantization(model: nn.Module, example: torch.Tensor) -> torch.fx.GraphModule:
    """`torch.export` the eval-mode model with a dynamic batch axis, as the graph module prepare_pt2e needs."""
    batch = torch.export.Dim.AUTO
    model = copy.deepcopy(model).to("cpu").eval()
    return torch.export.export(model, (example.to("cpu"),), dynamic_shapes=({0: batch},)).module()


def x86_quantizer() -> X86InductorQuantizer:
    """X86InductorQuantizer with its default static config: int8 per-channel symmetric weights (the default config
    has no per-tensor weight option), uint8 per-tensor activations calibrated by a histogram observer."""
    return X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())


def static_int8_pt2e(
    exported: torch.fx.GraphModule, calibration: torch.Tensor, batch_size: int = 256
) -> torch.fx.GraphModule:
    """PT2E static int8 of an exported graph: prepare_pt2e (X86InductorQuantizer) → calibrate → convert_pt2e.

    `exported` comes from `export_for_quantization` and is copied, so one export serves a calibration sweep. Fp32
    copies of the weights that the converted graph no longer reads are removed, so its state_dict is what ships.
    """
    if len(calibration) < 1:
        raise ValueError("static_int8_pt2e needs at least one calibration image.")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be ≥ 1.")
    calibration = calibration.to("cpu")
    prepared = prepare_pt2e(copy.deepcopy(exported), x86_quantizer())
    with torch.no_grad():
        for start in range(0, len(calibration), batch_size):
            prepared(calibration[start : start + batch_size])
    return allow_exported_model_train_eval(drop_unused_tensors(convert_pt2e(prepared)))


def drop_unused_tensors(graph_module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Delete parameters and buffers that no `get_attr` node of the graph reads (in place; returns the module)."""
    used = {node.target for node in graph_module.graph.nodes if node.op == "get_attr"}
    named = [*graph_module.named_parameters(), *graph_module.named_buffers()]
    for name, _ in named:
        if name not in used:
            owner_name, _, attr = name.rpartition(".")
            owner = graph_module.get_submodule(owner_name) if owner_name else graph_module
            delattr(owner, attr)
    return graph_module


def _stored_tensors(value: torch.Tensor) -> Iterator[torch.Tensor]:
    """The plain tensors that hold `value`: itself, or the tensors inside a tensor subclass such as torchao's
    quantized weight (whose own dtype is the float dtype it stands for, not what it stores)."""
    from torch.utils._python_dispatch import is_traceable_wrapper_subclass

    if is_traceable_wrapper_subclass(value):
        names, _ = value.__tensor_flatten__()
        for name in names:
            yield from _stored_tensors(getattr(value, name))
    else:
        yield value


def stored_dtype_bytes(model: nn.Module) -> dict[str, int]:
    """Raw bytes of the state_dict's tensors grouped by the dtype they are stored in (e.g. int8 weights vs fp32
    biases and scales), looking inside tensor subclasses."""
    totals: Counter[str] = Counter()
    for value in model.state_dict().values():
        if isinstance(value, torch.Tensor):
            for stored in _stored_tensors(value):
                totals[str(stored.dtype).removeprefix("torch.")] += stored.numel() * stored.element_size()
    return dict(totals)


class ShapeSpecialized(nn.Module):
    """Dispatches to one graph per batch size: x86 lowering freezes the input shape, so each size gets its own."""

    def __init__(self, graphs: dict[int, torch.fx.GraphModule]) -> None:
        super().__init__()
        self.graphs = graphs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the graph lowered for this batch size."""
        if x.shape[0] not in self.graphs:
            raise ValueError(f"No graph lowered for batch {x.shape[0]}; lowered for {sorted(self.graphs)}.")
        return self.graphs[x.shape[0]](x)


def lower_to_x86(converted: torch.fx.GraphModule, examples: Sequence[torch.Tensor]) -> ShapeSpecialized:
    """oneDNN int8 kernels: `lower_pt2e_quantized_to_x86` once per example batch shape."""
    return ShapeSpecialized(
        {int(x.shape[0]): lower_pt2e_quantized_to_x86(converted, (x.to("cpu"),)) for x in examples}
    )


def measure_static_variant(
    name: str,
    fp32_model: nn.Module,
    converted: torch.fx.GraphModule,
    lowered: ShapeSpecialized,
    example: torch.Tensor,
    per_seed_accuracy: Sequence[float],
    seeds: Sequence[int],
    min_run_time: float = 0.3,
) -> VariantResult:
    """The shared row for a PT2E variant: size of the converted graph, parameters and MACs of the same network in
    fp32 (quantization changes neither count), CPU latency of the oneDNN-lowered graphs at batch 1 and at the
    batch of `example` (the two batch sizes `lowered` was built for, see `lower_to_x86`)."""
    return measure_variant(
        name,
        "quantization",
        fp32_model,
        example,
        per_seed_accuracy,
        seeds,
        batch_large=len(example),
        min_run_time=min_run_time,
        timed=lowered,
        stored=converted,
        gpu=False,
        note="params and MACs of the fp32 network (int8 does the same multiply-accumulates); latency of the "
        "oneDNN-lowered graphs; no GPU latency: the x86 int8 kernels are CPU-only",
    )


def _first_graph_on_new_batch(lowered: ShapeSpecialized, example: torch.Tensor) -> torch.Tensor:
    batch, graph = next(iter(lowered.graphs.items()))
    return graph(example[torch.arange(batch + 1) % len(example)])


def api_limitations(
    exported: torch.fx.GraphModule, lowered: ShapeSpecialized, example: torch.Tensor
) -> dict[str, str | None]:
    """Try the calls that fail on exported / lowered graphs in this torch+torchao; the error class and first line
    of each (None when the call worked), so the notebook reports what really happened."""
    attempts = {
        "eval_on_prepared_graph": lambda: prepare_pt2e(copy.deepcopy(exported), x86_quantizer()).eval(),
        "save_lowered_graph": lambda: serialized_size(next(iter(lowered.graphs.values()))),
        "lowered_graph_new_batch_size": lambda: _first_graph_on_new_batch(lowered, example),
    }
    found: dict[str, str | None] = {}
    for label, attempt in attempts.items():
        try:
            attempt()
            found[label] = None
        except Exception as error:  # noqa: BLE001 - the error class is the finding reported to the reader
            found[label] = f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:120]}"
    return found


def op_counts(
    model: nn.Module | Callable[[torch.Tensor], Any], x: torch.Tensor, top: int = 8
) -> dict[str, Any]:
    """Operators dispatched by one forward pass (torch.profiler): total count and the most frequent ones."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode(), native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x)
    events = [e for e in prof.key_averages() if "::" in e.key]
    counts = sorted(((e.key, e.count) for e in events), key=lambda kv: -kv[1])
    total = sum(c for _, c in counts)
    return {"total_ops": total, "top": dict(counts[:top])}
