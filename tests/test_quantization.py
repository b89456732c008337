"""helpers.compression.quantization: int8 Linear weights near 1/4 of fp32, PT2E static graphs that ship only int8 weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.compression.measure import measure_variant, serialized_size
from helpers.compression.models import MLP, make_cnn
from helpers.compression.quantization import (
    api_limitations,
    eager_dynamic_int8,
    export_for_quantization,
    linear_weight_bytes,
    lower_to_x86,
    measure_static_variant,
    op_counts,
    static_int8_pt2e,
    stored_dtype_bytes,
    torchao_dynamic_int8,
    weight_dtypes,
)

X = torch.randn(16, 1, 8, 8)


def small_mlp() -> nn.Module:
    torch.manual_seed(0)
    return MLP(64, 10, hidden=(128, 128)).eval()


@pytest.mark.parametrize("quantize", [torchao_dynamic_int8, lambda m: eager_dynamic_int8(m)[0]])
def test_dynamic_int8_stores_linear_weights_in_a_quarter_of_the_bytes(quantize):
    model = small_mlp()
    quantized = quantize(model)
    assert set(weight_dtypes(quantized).values()) == {"int8"}
    assert set(weight_dtypes(model).values()) == {"float32"}, "the original model must stay fp32"
    assert linear_weight_bytes(quantized) <= 0.3 * linear_weight_bytes(model)
    with torch.inference_mode():
        assert torch.allclose(quantized(X), model(X), atol=0.1)


def test_eager_dynamic_int8_reports_its_deprecation():
    _, warned = eager_dynamic_int8(small_mlp())
    assert isinstance(warned, list) and all(isinstance(w, str) and w for w in warned)


def test_torchao_weights_count_as_the_int8_they_store_not_the_float_they_stand_for():
    torch.manual_seed(0)
    model = small_mlp()
    stored = stored_dtype_bytes(torchao_dynamic_int8(model))
    weights = sum(p.numel() for p in model.parameters() if p.dim() >= 2)
    assert weights <= stored["int8"] < 1.05 * weights, "int8 weights and their per-row int8 zero points"
    assert stored["float32"] < 0.1 * weights, "only biases and scales stay float32"


def test_linear_weight_bytes_needs_linear_layers():
    with pytest.raises(ValueError, match="no Linear layers"):
        linear_weight_bytes(nn.Sequential(nn.ReLU()))


def test_static_pt2e_keeps_only_int8_weights_and_agrees_with_fp32():
    torch.manual_seed(0)
    model = make_cnn(width_mult=0.25).eval()
    converted = static_int8_pt2e(export_for_quantization(model, X[:2]), X)
    dtypes = stored_dtype_bytes(converted)
    fp32_bytes = sum(p.numel() * 4 for p in model.parameters() if p.dim() >= 2)
    assert dtypes["int8"] == fp32_bytes // 4
    assert not any(v.is_floating_point() and v.dim() >= 2 for v in converted.state_dict().values())
    converted.eval()  # allowed on the converted graph
    with torch.inference_mode():
        agree = (converted(X).argmax(1) == model(X).argmax(1)).float().mean()
    assert agree >= 0.75


def test_the_shared_row_measures_a_converted_graph_and_its_lowered_form():
    """The q/dq graph as it is (08 without lower_int8) and the oneDNN-lowered graph (06) both give a full row."""
    torch.manual_seed(0)
    model = make_cnn(width_mult=0.25).eval()
    converted = static_int8_pt2e(export_for_quantization(model, X[:2]), X)
    accuracies, seeds = [0.9], [0]
    as_graph = measure_variant("qdq", "quantization", converted, X, accuracies, seeds, min_run_time=0.01)
    lowered = lower_to_x86(converted, [X[:1], X])
    shipped = measure_static_variant(
        "int8", model, converted, lowered, X, accuracies, seeds, min_run_time=0.01
    )
    for row in (as_graph, shipped):
        assert (
            row.size_bytes == serialized_size(converted) and row.latency_ms_b1 > 0 and row.latency_ms_b64 > 0
        )
    assert shipped.macs is not None and shipped.gpu_latency_ms_b1 is None and "CPU-only" in shipped.notes


def test_static_pt2e_rejects_bad_calibration():
    exported = export_for_quantization(make_cnn(width_mult=0.25).eval(), X[:2])
    with pytest.raises(ValueError, match="at least one calibration image"):
        static_int8_pt2e(exported, X[:0])
    with pytest.raises(ValueError, match="batch_size"):
        static_int8_pt2e(exported, X, batch_size=0)


def test_lowered_graph_is_shape_specialised():
    torch.manual_seed(0)
    model = make_cnn(width_mult=0.25).eval()
    converted = static_int8_pt2e(export_for_quantization(model, X[:2]), X)
    lowered = lower_to_x86(converted, [X[:1]])
    with torch.inference_mode():
        assert torch.allclose(lowered(X[:1]), converted(X[:1]), atol=0.5)
        with pytest.raises(ValueError, match="No graph lowered for batch 16"):
            lowered(X)


def test_op_counts_counts_dispatched_operators():
    counted = op_counts(small_mlp(), X[:1])
    assert counted["total_ops"] > 0 and counted["top"]


def test_api_limitations_reports_error_classes():
    torch.manual_seed(0)
    model = make_cnn(width_mult=0.25).eval()
    exported = export_for_quantization(model, X[:2])
    lowered = lower_to_x86(static_int8_pt2e(exported, X), [X[:1]])
    found = api_limitations(exported, lowered, X)
    assert set(found) == {"eval_on_prepared_graph", "save_lowered_graph", "lowered_graph_new_batch_size"}
    assert all(v is None or v.split(":")[0].isidentifier() for v in found.values())
