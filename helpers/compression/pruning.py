"""Pruning: unstructured magnitude masks (torch.nn.utils.prune) and structured channel removal (torch-pruning).

Unstructured pruning zeroes individual weights but keeps every dense tensor, so the serialized size and the dense
latency stay where they were. Structured pruning removes whole channels through torch-pruning's dependency graph,
so the layers really shrink. A structurally pruned model no longer matches its class's constructor, so it is saved
as plain tensors plus the changed layer attributes and rebuilt from a fresh model (`save_pruned` / `load_pruned`),
which loads with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch_pruning as tp
from torch import nn
from torch.nn.utils import prune

IMPORTANCES = ("magnitude", "taylor")
SAVE_FORMAT = "fsl-pruned-v1"
SHAPE_ATTRIBUTES = (
    "in_channels",
    "out_channels",
    "groups",
    "in_features",
    "out_features",
    "num_features",
    "normalized_shape",
    "embed_dim",
    "num_heads",
    "head_dim",
)


def _check_fraction(name: str, value: float, allow_zero: bool = True) -> None:
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        bound = "0 ≤" if allow_zero else "0 <"
        raise ValueError(
            f"{name} must satisfy {bound} {name} < 1 (a fraction of weights or channels); got {value}."
        )


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The Conv2d and Linear layers of `model` (the layers whose weights pruning touches), with their names."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def unstructured_prune(model: nn.Module, sparsity: float, permanent: bool = True) -> nn.Module:
    """A copy of `model` with the fraction `sparsity` of smallest-|w| weights, ranked across all Conv2d/Linear
    weights together (global magnitude pruning, so small layers such as the first convolution keep more), zeroed.

    With `permanent=False` the masks stay attached (forward pre-hooks), so fine-tuning keeps the zeros; call
    `make_permanent` afterwards.
    """
    _check_fraction("sparsity", sparsity)
    pruned = copy.deepcopy(model)
    layers = [layer for _, layer in prunable_layers(pruned)]
    prune.global_unstructured([(layer, "weight") for layer in layers], prune.L1Unstructured, amount=sparsity)
    return make_permanent(pruned) if permanent else pruned


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every attached torch.nn.utils.prune mask into its weight (in place) and return the model."""
    for _, layer in prunable_layers(model):
        if prune.is_pruned(layer) and hasattr(layer, "weight_mask"):
            prune.remove(layer, "weight")
    return model


def weight_sparsity(model: nn.Module) -> float:
    """Fraction of exactly-zero entries over all Conv2d/Linear weights."""
    weights = [layer.weight.detach() for _, layer in prunable_layers(model)]
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total


def make_importance(kind: str) -> tp.importance.Importance:
    """torch-pruning group importance: 'magnitude' (L2 of each channel group) or 'taylor' (|w·∂L/∂w|)."""
    if kind == "magnitude":
        return tp.importance.GroupMagnitudeImportance(p=2)
    if kind == "taylor":
        return tp.importance.GroupTaylorImportance()
    raise ValueError(f"Unknown importance {kind!r}; use one of {', '.join(IMPORTANCES)}.")


def classifier_head(model: nn.Module) -> nn.Module:
    """The last Linear layer: its outputs are the classes, so it must never lose output channels."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("structured_prune needs a model whose last Linear layer is the classifier head.")
    return linears[-1]


def _accumulate_taylor_gradients(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, y = batch
    model.zero_grad()
    nn.functional.cross_entropy(model.eval()(x), y).backward()


def structured_prune(
    model: nn.Module,
    example: torch.Tensor,
    ratio: float,
    importance: str = "magnitude",
    steps: int = 1,
    grad_batch: tuple[torch.Tensor, torch.Tensor] | None = None,
    fine_tune: Callable[[nn.Module, int], Any] | None = None,
) -> nn.Module:
    """A copy of `model` with fraction `ratio` of the channels of every prunable group removed (torch-pruning).

    With `steps` > 1 the ratio is reached in equal steps (iterative pruning) and `fine_tune(model, step)` runs
    after every step; with one step it runs once after pruning. Taylor importance needs `grad_batch` (x, y).
    """
    _check_fraction("ratio", ratio, allow_zero=False)
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1 (number of iterative pruning steps); got {steps}.")
    if importance == "taylor" and grad_batch is None:
        raise ValueError("Taylor importance needs grad_batch=(x, y) to compute gradients before each step.")
    pruned = copy.deepcopy(model).eval()
    pruner = tp.pruner.BasePruner(
        pruned,
        example,
        importance=make_importance(importance),
        pruning_ratio=ratio,
        iterative_steps=steps,
        ignored_layers=[classifier_head(pruned)],
    )
    for step in range(steps):
        if importance == "taylor":
            _accumulate_taylor_gradients(pruned, grad_batch)
        pruner.step()
        pruned.zero_grad(set_to_none=True)
        if fine_tune is not None:
            fine_tune(pruned, step)
    return pruned.eval()


def ops_and_params(model: nn.Module, example: torch.Tensor) -> tuple[int, int]:
    """torch-pruning's own counter: (MACs, parameters) for one forward pass of `example`."""
    macs, params = tp.utils.count_ops_and_params(model, example)
    return int(macs), int(params)


def layer_attributes(model: nn.Module) -> dict[str, dict[str, Any]]:
    """Per module, the shape attributes that structured pruning may change (channels, features, groups)."""
    found: dict[str, dict[str, Any]] = {}
    for name, module in model.named_modules():
        attrs = {
            a: getattr(module, a)
            for a in SHAPE_ATTRIBUTES
            if isinstance(getattr(module, a, None), (int, tuple))
        }
        if attrs:
            found[name] = attrs
    return found


def save_pruned(model: nn.Module, path: Path) -> Path:
    """Save a pruned model as tensors + layer attributes (no pickled classes), loadable with weights_only=True."""
    payload = {
        "format": SAVE_FORMAT,
        "attributes": layer_attributes(model),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def _resize_tensors(module: nn.Module, prefix: str, state: dict[str, torch.Tensor]) -> None:
    for name, param in list(module.named_parameters(recurse=False)):
        stored = state.get(prefix + name)
        if stored is not None and stored.shape != param.shape:
            setattr(module, name, nn.Parameter(torch.empty_like(stored), requires_grad=param.requires_grad))
    for name, buffer in list(module.named_buffers(recurse=False)):
        stored = state.get(prefix + name)
        if buffer is not None and stored is not None and stored.shape != buffer.shape:
            setattr(module, name, torch.empty_like(stored))


def load_pruned(factory: Callable[[], nn.Module], path: Path) -> nn.Module:
    """Rebuild a model saved by `save_pruned`: a fresh `factory()` model is resized to the saved shapes, then loaded."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != SAVE_FORMAT:
        raise ValueError(f"{path} was not written by save_pruned (format {SAVE_FORMAT!r} expected).")
    model = factory()
    state = payload["state_dict"]
    for name, module in model.named_modules():
        for attr, value in payload["attributes"].get(name, {}).items():
            setattr(module, attr, tuple(value) if isinstance(value, list) else value)
        _resize_tensors(module, f"{name}." if name else "", state)
    model.load_state_dict(state, strict=True)
    return model.eval()


def torch_pruning_roundtrip(model: nn.Module, factory: Callable[[], nn.Module], path: Path) -> dict[str, Any]:
    """torch-pruning's own `tp.state_dict` / `tp.load_state_dict` round trip, and whether weights_only can load it.

    The file pickles module `__dict__`s, so `torch.load(weights_only=True)` refuses it; it is then loaded with
    weights_only=False, which is acceptable only because this process wrote the file a moment ago.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.zero_grad(set_to_none=True)
    torch.save(tp.state_dict(model), path)
    try:
        torch.load(path, map_location="cpu", weights_only=True)
        safe_error = None
    except Exception as error:  # noqa: BLE001 - the error class is the finding reported to the reader
        safe_error = type(error).__name__
    rebuilt = tp.load_state_dict(factory().eval(), torch.load(path, map_location="cpu", weights_only=False))
    return {"model": rebuilt.eval(), "weights_only_error": safe_error, "bytes": path.stat().st_size}


def max_output_difference(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    """Largest absolute difference between the outputs of two models on the same input."""
    with torch.no_grad():
        return float((a.eval()(x) - b.eval()(x)).abs().max())
