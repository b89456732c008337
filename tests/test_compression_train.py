"""helpers.compression.train: the shared loop learns, is reproducible, stops early, distils and validates its inputs."""

from __future__ import annotations

import pytest
import torch

from helpers.compression.data import load_data
from helpers.compression.models import MLP
from helpers.compression.train import (
    DistillationLoss,
    TrainConfig,
    accuracy_summary,
    cpu_threads,
    evaluate,
    fine_tune,
    train,
    train_over_seeds,
)

CONFIG = TrainConfig(epochs=4, progress=False)


@pytest.fixture(scope="module")
def data():
    return load_data()


def small_mlp() -> MLP:
    return MLP(hidden=(32,))


def test_training_learns_and_is_reproducible(data):
    first, second = train_over_seeds(small_mlp, [0, 0], data, CONFIG)
    assert first.test_accuracy > 0.8
    assert first.test_accuracy == second.test_accuracy and first.history == second.history
    assert first.val_accuracy == max(first.history)
    assert evaluate(first.model, data.x_val, data.y_val) == pytest.approx(first.val_accuracy)


def test_accuracy_summary_of_runs_over_seeds(data):
    mean, std, per_seed = accuracy_summary(train_over_seeds(small_mlp, [0, 1], data, CONFIG))
    assert len(per_seed) == 2 and min(per_seed) <= mean <= max(per_seed) and std >= 0
    assert (mean, std) == pytest.approx((sum(per_seed) / 2, abs(per_seed[0] - per_seed[1]) / 2**0.5))


def test_early_stopping_stops_before_max_epochs(data):
    result = train(small_mlp(), data, TrainConfig(epochs=200, patience=1, lr=1e-2, progress=False), seed=0)
    assert result.epochs_run < 200 and result.epochs_run - result.best_epoch <= 1


def test_fine_tune_keeps_training_an_existing_model(data):
    result = train(small_mlp(), data, CONFIG, seed=0)
    tuned = fine_tune(result.model, data, CONFIG, seed=1, epochs=2)
    assert tuned.model is result.model and tuned.epochs_run <= 2
    assert tuned.val_accuracy >= 0.5


def test_distillation_loss_matches_hinton(data):
    teacher = train(small_mlp(), data, CONFIG, seed=0).model
    x, y = data.x_train[:16], data.y_train[:16]
    logits = torch.randn(16, 10)
    hard_only = DistillationLoss(teacher, temperature=3.0, alpha=0.0)(logits, x, y)
    assert float(hard_only) == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)))
    soft_self = DistillationLoss(teacher, temperature=3.0, alpha=1.0)(teacher(x).detach(), x, y)
    assert float(soft_self) == pytest.approx(0.0, abs=1e-5)
    soft = DistillationLoss(teacher, temperature=2.0, alpha=1.0)(logits, x, y)
    p_t = torch.softmax(teacher(x).detach() / 2, 1)
    kl = (p_t * (p_t.log() - torch.log_softmax(logits / 2, 1))).sum(1).mean()
    assert float(soft) == pytest.approx(4 * float(kl), rel=1e-4)


def test_distilled_training_runs(data):
    teacher = train(small_mlp(), data, CONFIG, seed=0).model
    results = train_over_seeds(small_mlp, [1], data, CONFIG, lambda seed: DistillationLoss(teacher, 4.0, 0.5))
    assert results[0].test_accuracy > 0.5


def test_thread_count_is_restored():
    before = torch.get_num_threads()
    inside = 2 if before == 1 else 1  # a count other than the current one, so that the test can fail
    with cpu_threads(inside):
        assert torch.get_num_threads() == inside
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"lr": 0}, "lr > 0"),
        ({"device": "auto"}, "resolve 'auto'"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_config_is_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_bad_distillation_and_seeds_are_explained(data):
    with pytest.raises(ValueError, match="temperature"):
        DistillationLoss(small_mlp(), temperature=0)
    with pytest.raises(ValueError, match="alpha"):
        DistillationLoss(small_mlp(), alpha=1.5)
    with pytest.raises(ValueError, match="seeds is empty"):
        train_over_seeds(small_mlp, [], data, CONFIG)
    with pytest.raises(ValueError, match="lr_scale"):
        fine_tune(small_mlp(), data, CONFIG, 0, lr_scale=0)
