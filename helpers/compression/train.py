"""One training and evaluation loop for the compression notebooks (04–08): seeds, tqdm, early stopping, distillation.

`train` trains a model in place with Adam, evaluates validation accuracy after every epoch, stops after `patience`
epochs without improvement and restores the best weights; `fine_tune` is the same loop on an existing (e.g.
pruned) model with a smaller learning rate. A `loss_fn(logits, x, y)` hook replaces the cross-entropy loss;
`DistillationLoss` is Hinton et al.'s knowledge-distillation loss.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from helpers.compression.data import EdgeData
from helpers.core.benchmark import cpu_threads
from helpers.core.seeding import seed_everything
from helpers.core.stats import mean_std

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of the shared loop; `device` is 'cpu' or 'cuda' (resolve 'auto' before)."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 6
    device: str = "cpu"
    progress: bool = True
    threads: int | None = 1  # CPU threads while training: tiny models train fastest (and reproducibly) on one

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{name}={value!r} must be an integer ≥ 1.")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError(
                f"TrainConfig needs lr > 0 and weight_decay ≥ 0 (got {self.lr!r}, {self.weight_decay!r})."
            )
        if self.threads is not None and self.threads < 1:
            raise ValueError(
                f"TrainConfig.threads={self.threads!r} must be ≥ 1, or None to keep torch's setting."
            )
        if self.device not in ("cpu", "cuda"):
            raise ValueError(
                f"TrainConfig.device={self.device!r} must be 'cpu' or 'cuda' (resolve 'auto' first)."
            )


@dataclass
class TrainResult:
    """A trained model (best validation epoch restored) with its seed and accuracies."""

    model: nn.Module
    seed: int
    val_accuracy: float
    test_accuracy: float
    best_epoch: int
    epochs_run: int
    history: list[float] = field(default_factory=list)  # validation accuracy per epoch


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Accuracy of `model` on (x, y), in eval mode, on the device x is on (restores the previous train/eval mode)."""
    was_training = model.training
    model.eval()
    correct = sum(
        int((model(x[i : i + batch_size]).argmax(dim=1) == y[i : i + batch_size]).sum())
        for i in range(0, len(y), batch_size)
    )
    model.train(was_training)
    return correct / len(y)


class DistillationLoss:
    """Hinton et al. (2015): alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − alpha) · CE(student, y).

    The soft loss is multiplied by T² so that its gradients keep the same scale as T changes. The teacher runs in
    eval mode without gradients on the same batch as the student.
    """

    def __init__(self, teacher: nn.Module, temperature: float = 4.0, alpha: float = 0.7) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature={temperature!r} must be > 0 (Hinton et al. use 1–20).")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha={alpha!r} is the soft-loss weight and must lie in [0, 1].")
        self.teacher = teacher.eval()
        self.temperature, self.alpha = temperature, alpha

    def __call__(self, logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The combined loss for student `logits` on batch (x, y)."""
        with torch.no_grad():
            teacher_logits = self.teacher(x)
        t = self.temperature
        soft = F.kl_div(
            F.log_softmax(logits / t, dim=1),
            F.log_softmax(teacher_logits / t, dim=1),
            reduction="batchmean",
            log_target=True,
        )
        return self.alpha * t * t * soft + (1 - self.alpha) * F.cross_entropy(logits, y)


def train(
    model: nn.Module,
    data: EdgeData,
    config: TrainConfig,
    seed: int,
    *,
    loss_fn: LossFn | None = None,
    desc: str = "train",
) -> TrainResult:
    """Train `model` in place on data.train with early stopping on data.val; return it with its test accuracy.

    Seeds every generator with `seed` first (batch order and dropout; build the model after seeding yourself when
    its initialisation should follow the seed too — `train_over_seeds` does).
    """
    seed_everything(seed)
    device = config.device
    model.to(device)
    data = data.to(device)
    with cpu_threads(config.threads if device == "cpu" else None):
        loss_fn = loss_fn or (lambda logits, x, y: F.cross_entropy(logits, y))
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        order = torch.Generator().manual_seed(seed)
        best_accuracy, best_epoch, best_state, history = -1.0, 0, None, []
        # closed (and so cleared) when early stopping breaks out, rather than left at, say, 26/60 as if it crashed
        with tqdm(range(config.epochs), desc=desc, leave=False, disable=not config.progress) as bar:
            for epoch in bar:
                model.train()
                permutation = torch.randperm(len(data.y_train), generator=order).to(device)
                for start in range(0, len(permutation), config.batch_size):
                    index = permutation[start : start + config.batch_size]
                    x, y = data.x_train[index], data.y_train[index]
                    loss = loss_fn(model(x), x, y)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                accuracy = evaluate(model, data.x_val, data.y_val)
                history.append(accuracy)
                bar.set_postfix(val=f"{accuracy:.3f}")
                if accuracy > best_accuracy:
                    best_accuracy, best_epoch, best_state = accuracy, epoch, copy.deepcopy(model.state_dict())
                elif epoch - best_epoch >= config.patience:
                    break
        model.load_state_dict(best_state)
        model.eval()
        test_accuracy = evaluate(model, data.x_test, data.y_test)
    return TrainResult(model, seed, best_accuracy, test_accuracy, best_epoch + 1, len(history), history)


def fine_tune(
    model: nn.Module,
    data: EdgeData,
    config: TrainConfig,
    seed: int,
    epochs: int | None = None,
    lr_scale: float = 0.1,
    loss_fn: LossFn | None = None,
    desc: str = "fine-tune",
) -> TrainResult:
    """Continue training an already trained (e.g. pruned) model: same loop, lr × lr_scale, `epochs` if given.

    Pruning masks from torch.nn.utils.prune stay applied (they are forward pre-hooks), so sparsity is kept.
    """
    if lr_scale <= 0:
        raise ValueError(f"lr_scale={lr_scale!r} must be > 0 (0.1 fine-tunes at a tenth of the training lr).")
    tuned = replace(config, lr=config.lr * lr_scale, epochs=epochs or config.epochs)
    return train(model, data, tuned, seed, loss_fn=loss_fn, desc=desc)


def train_over_seeds(
    build_fn: Callable[[], nn.Module],
    seeds: Sequence[int],
    data: EdgeData,
    config: TrainConfig,
    loss_fn_factory: Callable[[int], LossFn | None] | None = None,
    desc: str = "seeds",
) -> list[TrainResult]:
    """For each seed: seed everything, build a fresh model with build_fn(), train it; one TrainResult per seed.

    `loss_fn_factory(seed)` gives the loss for that seed (e.g. a DistillationLoss with that seed's teacher).
    """
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed, e.g. [0, 1, 2].")
    results = []
    for seed in tqdm(list(seeds), desc=desc, leave=False, disable=not config.progress):
        seed_everything(seed)
        model = build_fn()
        loss_fn = loss_fn_factory(seed) if loss_fn_factory else None
        results.append(train(model, data, config, seed, loss_fn=loss_fn, desc=f"{desc} · seed {seed}"))
    return results


def accuracy_summary(results: Sequence[TrainResult]) -> tuple[float, float, list[float]]:
    """(mean, std, per-seed) held-out test accuracy of runs from `train_over_seeds`."""
    per_seed = [r.test_accuracy for r in results]
    mean, std, _ = mean_std(per_seed)
    return mean, std, per_seed
