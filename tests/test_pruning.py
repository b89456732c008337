"""helpers.compression.pruning: unstructured masks keep dense size, structured pruning shrinks, pruned models reload safely."""

from __future__ import annotations

import pytest
import torch

from helpers.compression.measure import serialized_size
from helpers.compression.models import make_cnn
from helpers.compression.pruning import (
    load_pruned,
    make_permanent,
    max_output_difference,
    ops_and_params,
    save_pruned,
    structured_prune,
    torch_pruning_roundtrip,
    unstructured_prune,
    weight_sparsity,
)

X = torch.randn(8, 1, 8, 8)


def small_cnn(kind: str = "standard") -> torch.nn.Module:
    torch.manual_seed(0)
    return make_cnn(kind, width_mult=0.25).eval()


def test_unstructured_pruning_zeroes_weights_but_keeps_dense_size():
    model = small_cnn()
    pruned = unstructured_prune(model, 0.6)
    assert weight_sparsity(pruned) == pytest.approx(0.6, abs=0.02)
    assert weight_sparsity(model) < 0.01, "the original model must stay untouched"
    assert serialized_size(pruned) == serialized_size(model)
    assert ops_and_params(pruned, X[:1]) == ops_and_params(model, X[:1])


def test_masks_kept_through_training_keep_the_zeros():
    model = small_cnn().train()
    masked = unstructured_prune(model, 0.5, permanent=False)
    optimizer = torch.optim.SGD(masked.parameters(), lr=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        masked(X).square().mean().backward()
        optimizer.step()
    pruned = make_permanent(masked)
    assert weight_sparsity(pruned) == pytest.approx(0.5, abs=0.02)
    assert not any(hasattr(m, "weight_mask") for m in pruned.modules())
    assert serialized_size(pruned) == serialized_size(model)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5])
def test_unstructured_pruning_rejects_bad_sparsity(bad):
    with pytest.raises(ValueError, match="sparsity must satisfy"):
        unstructured_prune(small_cnn(), bad)


def test_structured_pruning_removes_channels_and_keeps_classes():
    model = small_cnn()
    pruned = structured_prune(model, X[:1], 0.5)
    base_macs, base_params = ops_and_params(model, X[:1])
    macs, params = ops_and_params(pruned, X[:1])
    assert macs < 0.5 * base_macs and params < 0.5 * base_params
    assert pruned(X).shape == (8, 10)
    assert pruned.classifier.out_features == 10
    assert ops_and_params(model, X[:1]) == (base_macs, base_params), "the original model must stay untouched"


def test_iterative_structured_pruning_fine_tunes_after_every_step():
    calls = []
    pruned = structured_prune(small_cnn(), X[:1], 0.5, steps=3, fine_tune=lambda m, step: calls.append(step))
    assert calls == [0, 1, 2]
    assert ops_and_params(pruned, X[:1])[1] < ops_and_params(small_cnn(), X[:1])[1]


def test_taylor_importance_needs_a_labelled_batch():
    with pytest.raises(ValueError, match="grad_batch"):
        structured_prune(small_cnn(), X[:1], 0.5, importance="taylor")
    batch = (X, torch.arange(8) % 10)
    pruned = structured_prune(small_cnn(), X[:1], 0.5, importance="taylor", grad_batch=batch)
    assert all(p.grad is None for p in pruned.parameters())
    assert ops_and_params(pruned, X[:1])[1] < ops_and_params(small_cnn(), X[:1])[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio": 0.0}, "ratio must satisfy"),
        ({"ratio": 0.5, "steps": 0}, "steps must be"),
        ({"ratio": 0.5, "importance": "random"}, "Unknown importance"),
    ],
)
def test_structured_pruning_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        structured_prune(small_cnn(), X[:1], **kwargs)


@pytest.mark.parametrize("kind", ["standard", "separable"])
def test_pruned_model_reloads_safely_with_identical_outputs(tmp_path, kind):
    pruned = structured_prune(small_cnn(kind), X[:1], 0.5)
    path = save_pruned(pruned, tmp_path / "pruned.pt")
    torch.load(path, weights_only=True)  # no pickled classes inside
    reloaded = load_pruned(lambda: small_cnn(kind), path)
    assert max_output_difference(pruned, reloaded, X) == 0.0
    assert ops_and_params(reloaded, X[:1]) == ops_and_params(pruned, X[:1])


def test_load_pruned_rejects_foreign_files(tmp_path):
    path = tmp_path / "plain.pt"
    torch.save(small_cnn().state_dict(), path)
    with pytest.raises(ValueError, match="not written by save_pruned"):
        load_pruned(small_cnn, path)


def test_torch_pruning_roundtrip_needs_unsafe_loading(tmp_path):
    pruned = structured_prune(small_cnn(), X[:1], 0.5)
    trip = torch_pruning_roundtrip(pruned, small_cnn, tmp_path / "tp.pth")
    assert trip["weights_only_error"] == "UnpicklingError"
    assert max_output_difference(pruned, trip["model"], X) == 0.0
