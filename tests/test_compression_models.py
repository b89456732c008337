"""helpers.compression.models: shapes, the separable savings, width multiplier, and export/pruning friendliness."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.compression.models import (
    MLP,
    EdgeCNN,
    TinyTransformer,
    block_savings,
    conv_layers,
    make_cnn,
    make_student,
    make_teacher,
    scaled_widths,
)

X = torch.randn(2, 1, 8, 8)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "model",
    [make_cnn(), make_cnn("separable", 0.5), MLP(), TinyTransformer(), make_teacher(), make_student()],
)
def test_models_give_logits(model):
    assert model.eval()(X).shape == (2, 10)


def test_separable_cnn_is_smaller_and_width_multiplier_shrinks_it():
    standard, separable, half = make_cnn(), make_cnn("separable"), make_cnn("separable", 0.5)
    assert n_params(separable) < n_params(standard) / 4
    assert n_params(half) < n_params(separable) / 2
    assert scaled_widths(0.5) == (8, 16, 32, 32)


def test_separable_block_weights_follow_the_formula():
    block = make_cnn("separable").features[1]
    depthwise, pointwise = block[0], block[3]
    c_in, c_out = depthwise.in_channels, pointwise.out_channels
    assert depthwise.weight.numel() == 9 * c_in and pointwise.weight.numel() == c_in * c_out
    assert make_cnn().features[1][0].weight.numel() == 9 * c_in * c_out


def test_teacher_is_larger_than_student():
    assert n_params(make_teacher()) > 10 * n_params(make_student())


def test_cnn_accepts_larger_resolution():
    assert make_cnn("separable").eval()(torch.randn(1, 1, 32, 32)).shape == (1, 10)


def test_no_inplace_activations():
    for model in (make_cnn(), MLP(), make_cnn("separable")):
        assert not any(getattr(m, "inplace", False) for m in model.modules())


@pytest.mark.parametrize("model", [make_cnn("separable"), TinyTransformer(dim=32, depth=1)])
def test_models_export(model):
    exported = torch.export.export(model.eval(), (X,))
    assert torch.allclose(exported.module()(X), model(X), atol=1e-5)


def test_structured_pruning_traces_the_cnn():
    import torch_pruning as tp

    model = make_cnn("separable").eval()
    pruner = tp.pruner.BasePruner(
        model,
        X,
        importance=tp.importance.GroupMagnitudeImportance(p=2),
        pruning_ratio=0.5,
        ignored_layers=[model.classifier],
    )
    before = n_params(model)
    pruner.step()
    assert n_params(model) < before and model(X).shape == (2, 10)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="Unknown CNN kind"):
        EdgeCNN("residual")
    with pytest.raises(ValueError, match="width_mult"):
        make_cnn(width_mult=0)
    with pytest.raises(ValueError, match="same length"):
        EdgeCNN(widths=(8, 16), strides=(1,))
    with pytest.raises(ValueError, match="hidden"):
        MLP(hidden=())
    with pytest.raises(ValueError, match="divisible"):
        TinyTransformer(dim=30, heads=4)


def test_conv_table_matches_the_formulas():
    rows = conv_layers(make_cnn("separable"), (1, 8, 8))
    assert [r["kind"] for r in rows] == ["standard"] + ["depthwise", "pointwise"] * 3
    assert all(r["weights"] == r["formula_weights"] for r in rows)
    assert rows[1]["out_hw"] == "4×4" and rows[1]["macs"] == rows[1]["weights"] * 16


def test_block_savings_follow_one_over_cout_plus_one_over_k_squared():
    rows = block_savings(make_cnn(), make_cnn("separable"), (1, 8, 8))
    assert len(rows) == 3
    for row in rows:
        assert row["ratio measured"] == pytest.approx(row["ratio 1/Cout + 1/k²"])
        assert row["separable MACs"] < row["standard MACs"] / 5
    with pytest.raises(ValueError, match="kind 'separable'"):
        block_savings(make_cnn(), make_cnn(), (1, 8, 8))
