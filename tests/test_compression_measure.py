"""helpers.compression.measure: counting, sizes, MACs, the results row, recording and the claim helpers."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from helpers.compression import claims as ec
from helpers.compression import measure as em
from helpers.compression.models import MLP, make_cnn
from helpers.core.claims import Claim
from helpers.core.model_size import ParamCount, count_params

X = torch.randn(4, 1, 8, 8)


def test_params_size_and_macs_of_a_cnn():
    model = make_cnn().eval()
    counted = count_params(model)
    assert isinstance(counted, ParamCount) and counted.total == sum(p.numel() for p in model.parameters())
    total, nonzero = counted
    assert nonzero <= total
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    assert em.serialized_size(model) == buffer.getbuffer().nbytes > 4 * total
    macs, note = em.count_macs(model, X[:1])
    conv_macs = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Conv2d))
    assert macs > conv_macs and note == ""
    assert em.count_macs(model, X[:2])[0] == 2 * macs


def test_linear_macs_are_exact():
    model = MLP(in_features=64, hidden=(32,)).eval()
    assert em.count_macs(model, X[:1]) == (64 * 32 + 32 * 10, "")


def test_unstructured_pruning_counts_nonzeros_but_not_smaller_dense():
    model = MLP(hidden=(32,)).eval()
    dense_size = em.serialized_size(model)
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            prune.l1_unstructured(layer, "weight", amount=0.5)
    total, nonzero = count_params(model)
    assert total == sum(p.numel() for p in MLP(hidden=(32,)).parameters())
    assert nonzero < 0.6 * total
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            prune.remove(layer, "weight")
    assert em.serialized_size(model) == pytest.approx(dense_size, rel=0.01)  # key order may add a few bytes


def test_dynamic_quantized_model_is_smaller_and_macs_are_not_faked():
    model = MLP().eval()
    quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)
    assert count_params(quantized)[0] == count_params(model)[0]
    assert em.serialized_size(quantized) < 0.3 * em.serialized_size(model)
    macs, note = em.count_macs(quantized, X[:1])
    assert macs is None and "cannot see inside" in note


def test_exported_program_size():
    exported = torch.export.export(make_cnn("separable").eval(), (X[:1],))
    assert em.serialized_size(exported) > em.serialized_size(make_cnn("separable"))


@pytest.fixture(scope="module")
def two_variants():
    common = {"example": X, "min_run_time": 0.02, "threads": 1}
    base = em.measure_variant(
        "base", "baseline", make_cnn(), per_seed_accuracy=[0.9, 0.92], seeds=[0, 1], **common
    )
    sep = em.measure_variant(
        "sep",
        "architecture",
        make_cnn("separable"),
        per_seed_accuracy=[0.8, 0.82],
        seeds=[0, 1],
        latency_example=torch.randn(8, 1, 16, 16),
        **common,
    )
    return base, sep


def test_measure_variant_fills_the_row(two_variants):
    base, sep = two_variants
    assert base.params > sep.params and base.macs > sep.macs and base.size_bytes > sep.size_bytes
    assert base.latency_ms_b1 > 0 and base.latency_ms_b64 > 0 and base.threads == 1
    assert base.accuracy_mean == pytest.approx(0.91) and base.accuracy_std == pytest.approx(0.01414, abs=1e-4)
    assert base.input_shape == [1, 8, 8] and base.latency_resolution is None and sep.latency_resolution == 16
    if not torch.cuda.is_available():
        assert base.gpu_latency_ms_b1 is None and "no CUDA GPU" in base.notes


def test_record_frame_and_rebuild(two_variants, monkeypatch, tmp_path):
    monkeypatch.setenv("FSL_OUT_DIR", str(tmp_path))
    base, sep = two_variants
    em.record_variant(base)
    em.record_variant(sep)
    from helpers.core.results import recorded

    results = recorded()
    for key in ("params", "size_bytes", "macs", "latency_ms_b1", "accuracy_mean", "accuracy_std", "seeds"):
        assert f"model.base.{key}" in results and f"model.sep.{key}" in results
    frame = em.variants_frame([base, sep])
    assert list(frame.index) == ["base", "sep"] and frame.loc["sep", "macs"] == sep.macs
    rebuilt = {v.name: v for v in em.variants_from_results(results)}
    assert rebuilt["sep"] == sep


def test_efficiency_ratios(two_variants):
    base, sep = two_variants
    ratios = em.efficiency_ratios(base, sep)
    assert ratios["size"] == pytest.approx(base.size_bytes / sep.size_bytes)
    assert ratios["latency_b64"] == pytest.approx(base.latency_ms_b64 / sep.latency_ms_b64)
    assert ratios["gpu_latency_b1"] is None or torch.cuda.is_available()


def test_claims_are_declared_per_notebook_and_measure():
    claims = [v for n in dir(ec) if n.isupper() for v in _claims_in(getattr(ec, n))]
    assert {c.id.split(".")[1] for c in claims} == {"architecture", "pruning", "quantization", "distillation"}
    compute_bound = (
        ec.ARCHITECTURE_SPEED_COMPUTE_BOUND,
        ec.PRUNING_SPEED_COMPUTE_BOUND,
        ec.QUANTIZATION_SPEED_COMPUTE_BOUND,
    )
    expected = 4 * 3 + 6 + len(ec.LABEL_FRACTIONS) + sum(len(c) for c in compute_bound)
    assert len({c.id for c in claims}) == len(claims) == expected
    for technique in (ec.ARCHITECTURE_EFFICIENCY, ec.PRUNING_EFFICIENCY, ec.QUANTIZATION_EFFICIENCY):
        assert set(technique) == set(ec.MEASURES)
    for technique in compute_bound:
        assert set(technique) == {(p, m) for p in ec.DEPLOYMENT_PATHS for m in ec.SPEED_MEASURES}
    assert ec.ARCHITECTURE_EFFICIENCY["size"].rule.verdict(2.5) == "reproduced"
    assert ec.ARCHITECTURE_EFFICIENCY["latency_b1"].rule.verdict(1.5) == "partly reproduced"
    assert ec.ARCHITECTURE_EFFICIENCY["throughput_b64"].rule.verdict(0.5) == "not reproduced"
    assert not any(
        hasattr(em, n) for n in ("Claim", "PRUNING_ACCURACY", "efficiency_gain", "accuracy_gain_beyond_se")
    )


def _claims_in(value) -> list[Claim]:
    if isinstance(value, Claim):
        return [value]
    return [v for v in value.values() if isinstance(v, Claim)] if isinstance(value, dict) else []


def test_bad_variant_arguments_are_explained():
    with pytest.raises(ValueError, match="Variant name"):
        em.measure_variant("a.b", "baseline", make_cnn(), X, [0.9], [0])
    with pytest.raises(ValueError, match="one accuracy per seed"):
        em.measure_variant("a", "baseline", make_cnn(), X, [0.9, 0.8], [0])


def test_plot_variants_draws_both_panels(two_variants):
    fig = em.plot_variants(list(two_variants), "title")
    assert len(fig.axes) == 2 and len(fig.axes[0].get_legend().get_texts()) == 2
