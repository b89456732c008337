"""helpers.compression.data: the fixed stratified digits split, normalisation, latency inputs and clear errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from helpers.compression.data import latency_input, load_data, stratified_split


@pytest.fixture(scope="module")
def digits():
    return load_data()


def test_digits_split_is_fixed_stratified_and_normalised(digits):
    sizes = digits.sizes()
    assert sum(sizes.values()) == 1797
    assert sizes["train"] == pytest.approx(0.6 * 1797, abs=15)
    assert sizes["val"] == pytest.approx(0.2 * 1797, abs=15)
    assert digits.input_shape == (1, 8, 8) and digits.in_features == 64 and digits.num_classes == 10
    assert digits.x_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert abs(float(digits.x_train.mean())) < 1e-4 and float(digits.x_train.std()) == pytest.approx(
        1, abs=1e-3
    )
    for y in (digits.y_train, digits.y_val, digits.y_test):
        shares = torch.bincount(y, minlength=10).float() / len(y)
        assert float(shares.min()) > 0.08 and float(shares.max()) < 0.12
    again = load_data()
    assert torch.equal(again.x_test, digits.x_test) and torch.equal(again.y_val, digits.y_val)


def test_splits_do_not_overlap():
    labels = np.repeat(np.arange(5), 20)
    parts = stratified_split(labels, (0.6, 0.2, 0.2))
    joined = np.concatenate(parts)
    assert len(joined) == len(set(joined.tolist())) == 100
    assert [len(p) for p in parts] == [60, 20, 20]


def test_limit_keeps_a_stratified_subset():
    small = load_data(limit=100)
    assert all(n <= 100 for n in small.sizes().values())
    assert len(torch.unique(small.y_train)) == 10


def test_latency_input_upsamples_and_repeats(digits):
    x = latency_input(digits, 70, resolution=32)
    assert x.shape == (70, 1, 32, 32)
    assert latency_input(digits, 3).shape == (3, 1, 8, 8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "mnist"}, "Unknown dataset"),
        ({"val_fraction": 1.5}, "val_fraction"),
        ({"limit": 3}, "limit"),
    ],
)
def test_bad_parameters_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_data(**kwargs)


def test_bad_split_and_resolution_are_explained(digits):
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(np.zeros(10), (0.5, 0.2))
    with pytest.raises(ValueError, match="below the native"):
        latency_input(digits, 1, resolution=4)
    with pytest.raises(ValueError, match="batch"):
        latency_input(digits, 0)


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
def test_torchvision_datasets_need_torchvision():
    with pytest.raises(ValueError, match="needs torchvision"):
        load_data("fashion_mnist")


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="torchvision is not installed")
def test_torchvision_datasets_never_download_unasked(tmp_path):
    with pytest.raises(ValueError, match="download=True"):
        load_data("cifar10", root=tmp_path)
