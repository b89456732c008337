"""Cross-layer sharing strategies of ALBERT Table 4 as runnable modules: all, attention only, FFN only, none."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from helpers.albert.configs import SHARINGS, Shape, instantiate
from helpers.core.params import require

FFN_PARTS = ("ffn", "ffn_output", "full_layer_layer_norm")


def layers_of(model: Any) -> list[Any]:
    """The AlbertLayer applied at each depth of an AlbertModel, in order (the same object where layers share)."""
    groups, config = model.encoder.albert_layer_groups, model.config
    per_group = config.num_hidden_layers / config.num_hidden_groups
    return [
        layer
        for depth in range(config.num_hidden_layers)
        for layer in groups[int(depth / per_group)].albert_layers
    ]


def tie_sublayer(model: Any, part: str) -> None:
    """Make every layer of a not-shared AlbertModel use layer 0's attention ('attention') or FFN ('ffn')."""
    require(part in ("attention", "ffn"), f"Unknown sub-layer {part!r}: tie 'attention' or 'ffn'.")
    require(
        model.config.num_hidden_groups == model.config.num_hidden_layers
        and model.config.inner_group_num == 1,
        "tie_sublayer needs a not-shared AlbertModel (num_hidden_groups = num_hidden_layers, inner_group_num = 1).",
    )
    layers = layers_of(model)
    names = ("attention",) if part == "attention" else FFN_PARTS
    for layer in layers[1:]:
        for name in names:
            setattr(layer, name, getattr(layers[0], name))


def build(shape: Shape, device: str = "meta", **overrides: Any):
    """An AlbertModel with `shape.sharing` applied: via AlbertConfig (all/none) or by tying one sub-layer."""
    require(shape.family == "albert", "Sharing strategies apply to ALBERT shapes; pass family='albert'.")
    require(
        shape.sharing in SHARINGS, f"Unknown sharing {shape.sharing!r}: use one of {', '.join(SHARINGS)}."
    )
    if shape.sharing in ("all-shared", "not-shared"):
        return instantiate(shape, device, **overrides)
    model = instantiate(replace(shape, sharing="not-shared"), device, **overrides)
    tie_sublayer(model, "attention" if shape.sharing == "shared-attention" else "ffn")
    return model
