"""One parameter count for every PyTorch model of the collection: total and non-zero parameters."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class ParamCount(NamedTuple):
    """Parameters of a model: all of them, and those that are not exactly zero (pruning leaves zeros)."""

    total: int
    nonzero: int


def count_params(model: nn.Module) -> ParamCount:
    """Trainable tensors plus weights packed inside torch.ao quantized layers, counted once each.

    For layers pruned with torch.nn.utils.prune the effective weight (weight_orig × mask) is what is counted.
    """
    total = nonzero = 0
    seen: set[int] = set()  # a tensor shared between modules (tied embeddings, ALBERT's layers) counts once
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if id(param) in seen:
                continue
            seen.add(id(param))
            effective = getattr(module, name.removesuffix("_orig"), param)
            total += param.numel()
            # a meta tensor (a model built without memory, to count shapes) has no values: count it as dense
            nonzero += param.numel() if param.is_meta else int(torch.count_nonzero(_dense(effective)))
        packed = packed_weight(module)
        if packed is not None:
            total += packed.numel()
            nonzero += int(torch.count_nonzero(packed))
            bias = module.bias() if callable(getattr(module, "bias", None)) else None
            if bias is not None:
                total += bias.numel()
                nonzero += int(torch.count_nonzero(bias))
    return ParamCount(total, nonzero)


def _dense(tensor: torch.Tensor) -> torch.Tensor:
    """A plain tensor view of a (possibly quantized or tensor-subclass) weight, for counting non-zeros."""
    if tensor.is_quantized:
        return tensor.int_repr()
    if type(tensor) not in (torch.Tensor, nn.Parameter) and hasattr(tensor, "dequantize"):
        return tensor.dequantize()
    return tensor.detach()


def packed_weight(module: nn.Module) -> torch.Tensor | None:
    """The int8 weight of a torch.ao quantized Linear/Conv (held in packed params, not in .parameters())."""
    if not (hasattr(module, "_packed_params") and callable(getattr(module, "weight", None))):
        return None
    weight = module.weight()
    return weight.int_repr() if weight.is_quantized else weight
