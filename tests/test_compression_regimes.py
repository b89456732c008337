"""helpers.compression.regimes: labelled subsets, epoch scaling, fake quantization and the over-fit sweep."""

from __future__ import annotations

import pytest
import torch

from helpers.compression.data import load_data
from helpers.compression.models import MLP
from helpers.compression.regimes import (
    curve,
    fake_quantize_weights,
    fraction_config,
    labelled_subset,
    overfit_sweep,
    per_seed,
)
from helpers.compression.train import TrainConfig


@pytest.fixture(scope="module")
def data():
    return load_data()


def test_labelled_subset_is_stratified_seeded_and_leaves_val_and_test(data):
    subset = labelled_subset(data, 0.05, seed=3)
    counts = torch.bincount(subset.y_train, minlength=10)
    assert 40 <= len(subset.y_train) <= 70 and counts.min() >= 4, "about 5 % of ~108 images per class"
    assert torch.equal(subset.x_test, data.x_test) and torch.equal(subset.y_val, data.y_val)
    again, other = labelled_subset(data, 0.05, seed=3), labelled_subset(data, 0.05, seed=4)
    assert torch.equal(again.x_train, subset.x_train) and not torch.equal(other.x_train, subset.x_train)
    assert labelled_subset(data, 1.0, seed=0) is data
    with pytest.raises(ValueError, match="fraction"):
        labelled_subset(data, 0.0, seed=0)


def test_fraction_config_scales_epochs_by_one_over_the_square_root():
    config = TrainConfig(epochs=20, patience=4)
    assert (fraction_config(config, 0.25).epochs, fraction_config(config, 0.25).patience) == (40, 8)
    assert fraction_config(config, 1.0) == config


def test_fake_quantization_rounds_each_row_to_the_given_levels():
    model = MLP(hidden=(16,))
    quantized = fake_quantize_weights(model, 2)
    for layer in (m for m in quantized.modules() if isinstance(m, torch.nn.Linear)):
        assert all(len(torch.unique(row)) <= 4 for row in layer.weight)
    original = model.net[1].weight
    error = (fake_quantize_weights(model, 8).net[1].weight - original).abs().max()
    step = ((original.max(1).values - original.min(1).values) / 255).max()
    assert 0 < error <= step / 2 + 1e-7
    with pytest.raises(ValueError, match="bits"):
        fake_quantize_weights(model, 1)


def test_overfit_sweep_controls_for_fine_tuning(data):
    config = TrainConfig(epochs=6, patience=2, progress=False)
    frame = overfit_sweep(data, config, [0, 1], epochs=6, sparsities=[0.5], bits=[8])
    assert set(frame["variant"]) == {"dense", "dense_finetuned", "pruned", "pruned_finetuned", "fake_quant"}
    assert len(per_seed(frame, "pruned_finetuned", 0.5)) == len(per_seed(frame, "dense_finetuned")) == 2
    assert curve(frame, "fake_quant").iloc[0]["seeds"] == 2
    assert (frame["train_accuracy"] >= 0).all() and (frame["test_accuracy"] <= 1).all()
    with pytest.raises(ValueError, match="No rows"):
        per_seed(frame, "pruned", 0.9)
