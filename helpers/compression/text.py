"""A task below the ceiling for the compression claims: which library a documentation paragraph comes from.

The paragraphs are those of the offline prose corpus (`helpers.datasets.prose`): the docstrings of the Python
standard library and of six installed scientific packages, each labelled with its package. The test set holds
paragraphs of modules that no training paragraph comes from (the corpus's held-out groups), so a model cannot
recognise a module it has seen; a paragraph whose text occurs under two packages is dropped, and one that occurs
in a training module is dropped from the test set. Paragraphs become token ids: lower-cased words, numbers and
punctuation, the `vocab_size` most frequent in training (0 pads, 1 stands for any other), the first `max_len`.

The models are bag-of-words classifiers: the mean of the paragraph's token embeddings (padding excluded), then a
hidden layer. The embedding table holds most of the weights, so it is what the methods shrink: a factorised
embedding (ALBERT's: a V × e table and an e × E projection), fewer hidden units, int8 weights, or a smaller
student.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.compression.claims import (
    OVERFIT_BITS,
    OVERFIT_SPARSITY,
    TEXT_BASELINE_SHAPE,
    TEXT_FACTOR_DIM,
    TEXT_FEW_LABELS,
    TEXT_PRUNE_RATIO,
    TEXT_STUDENT_SHAPE,
)
from helpers.compression.data import SPLIT_SEED, EdgeData, stratified_split
from helpers.compression.pruning import structured_prune
from helpers.compression.regimes import fake_quantize_weights, fraction_config, labelled_subset, overfit_sweep
from helpers.compression.train import DistillationLoss, TrainConfig, evaluate, fine_tune, train_over_seeds
from helpers.core.params import require
from helpers.core.stats import paired_difference_interval
from helpers.datasets.prose import Document, cached_documents, heldout_group

PACKAGES = ("stdlib", "numpy", "scipy", "pandas", "sklearn", "torch", "matplotlib")
PAD, UNKNOWN = 0, 1
TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")
HELDOUT_FRACTION = 0.2  # share of each package's modules whose paragraphs form the test set


def tokens(text: str) -> list[str]:
    """Lower-cased words, numbers and single punctuation marks, in order."""
    return TOKEN.findall(text.lower())


@dataclass(frozen=True)
class TextTask:
    """The split as EdgeData (x: int64 token ids, N × max_len), with the class names and the vocabulary."""

    data: EdgeData
    classes: tuple[str, ...]
    vocabulary: tuple[str, ...]  # index → token; 0 is padding, 1 any token outside the vocabulary

    @property
    def vocab_size(self) -> int:
        """Rows of an embedding table for these ids."""
        return len(self.vocabulary)


def _paragraphs(documents: Sequence[Document]) -> list[tuple[str, str]]:
    return [(segment, document.group) for document in documents for segment in document.segments]


def labelled_paragraphs(packages: Sequence[str] = PACKAGES) -> tuple[list[str], list[int], list[bool]]:
    """Every paragraph of the packages' docstrings with its package index and whether its module is held out;
    texts under two packages are dropped, and held-out copies of a training paragraph too."""
    rows = [
        (text, label, heldout_group(group, HELDOUT_FRACTION))
        for label, package in enumerate(packages)
        for text, group in _paragraphs(cached_documents(package))
    ]
    labels_of: dict[str, set[int]] = {}
    in_training: set[str] = set()
    for text, label, heldout in rows:
        labels_of.setdefault(text, set()).add(label)
        if not heldout:
            in_training.add(text)
    kept, seen = [], set()
    for text, label, heldout in rows:
        key = (text, heldout)
        if len(labels_of[text]) > 1 or (heldout and text in in_training) or key in seen:
            continue
        seen.add(key)
        kept.append((text, label, heldout))
    texts, labels, heldout = zip(*kept, strict=True)
    return list(texts), list(labels), list(heldout)


def _balanced(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    picked = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(picked))


def encode(texts: Sequence[str], index: dict[str, int], max_len: int) -> torch.Tensor:
    """Token ids of each text (its first max_len tokens, unknown ones as 1), padded with 0: int64, N × max_len."""
    ids = np.zeros((len(texts), max_len), dtype=np.int64)
    for row, text in enumerate(texts):
        found = [index.get(token, UNKNOWN) for token in tokens(text)[:max_len]]
        ids[row, : len(found)] = found
    return torch.from_numpy(ids)


def load_text_task(
    per_class_train: int = 2000,
    per_class_test: int = 400,
    vocab_size: int = 8000,
    max_len: int = 64,
    val_fraction: float = 0.1,
    packages: Sequence[str] = PACKAGES,
) -> TextTask:
    """The package-of-origin task: up to `per_class_train` training (and validation) paragraphs and up to
    `per_class_test` test paragraphs per package, drawn with the fixed split seed; vocabulary from training."""
    require(
        per_class_train >= 10 and per_class_test >= 1, "per_class_train must be ≥ 10 and per_class_test ≥ 1."
    )
    require(
        vocab_size > 2 and max_len >= 1, f"vocab_size={vocab_size} must be > 2 and max_len={max_len} ≥ 1."
    )
    require(0 < val_fraction < 1, f"val_fraction={val_fraction} must lie between 0 and 1, e.g. 0.1.")
    texts, labels, heldout = labelled_paragraphs(packages)
    labels_array, heldout_array = np.asarray(labels), np.asarray(heldout)
    rng = np.random.default_rng(SPLIT_SEED)
    pool_train, pool_test = np.flatnonzero(~heldout_array), np.flatnonzero(heldout_array)
    train_val = pool_train[_balanced(labels_array[pool_train], per_class_train, rng)]
    test = pool_test[_balanced(labels_array[pool_test], per_class_test, rng)]
    train_part, val_part = stratified_split(labels_array[train_val], (1 - val_fraction, val_fraction))
    train, val = train_val[train_part], train_val[val_part]
    counts = Counter(token for i in train for token in set(tokens(texts[i])))
    # most frequent first, ties by spelling: never by set order, which changes with the process's hash seed
    by_frequency = sorted(counts, key=lambda token: (-counts[token], token))
    vocabulary = ("<pad>", "<unk>", *by_frequency[: vocab_size - 2])
    index = {token: i for i, token in enumerate(vocabulary)}

    def part(rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return encode([texts[i] for i in rows], index, max_len), torch.as_tensor(labels_array[rows])

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = part(train), part(val), part(test)
    data = EdgeData("docstrings", x_train, y_train, x_val, y_val, x_test, y_test, len(packages))
    return TextTask(data, tuple(packages), vocabulary)


class BagOfWords(nn.Module):
    """Mean of the token embeddings (padding excluded) → Linear → ReLU → Linear; with `factor_dim`, the table is
    factorised as in ALBERT: a vocab × factor_dim table projected to embed_dim."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 128,
        hidden: int = 256,
        factor_dim: int | None = None,
    ) -> None:
        super().__init__()
        table_dim = factor_dim or embed_dim
        self.embedding = nn.Embedding(vocab_size, table_dim, padding_idx=PAD)
        self.projection = nn.Linear(table_dim, embed_dim, bias=False) if factor_dim else nn.Identity()
        self.head = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Class logits for a batch of token-id rows."""
        present = (ids != PAD).unsqueeze(-1).float()
        mean = (self.embedding(ids) * present).sum(dim=1) / present.sum(dim=1).clamp(min=1.0)
        return self.head(self.projection(mean))


BASELINE_SHAPE, STUDENT_SHAPE = TEXT_BASELINE_SHAPE, TEXT_STUDENT_SHAPE

# claim key of helpers.compression.claims.TEXT_ACCURACY_CLAIMS → (arm expected more accurate, arm expected less)
CLAIM_ARMS = {
    "architecture": ("baseline", "factorised"),
    "pruning": ("pruned_finetuned", "baseline_finetuned"),
    "pruning_overfit": ("overfit_pruned_finetuned", "overfit_dense_finetuned"),
    "quantization": ("int8_weights", "baseline"),
    "quantization_overfit": ("overfit_int8_weights", "overfit_dense"),
    "distillation_vs_teacher": ("baseline", "distilled_all_labels"),
    "distillation_few_labels": ("distilled_few_labels", "alone_few_labels"),
    "distillation_all_labels": ("distilled_all_labels", "alone_all_labels"),
}
OVERFIT_TRAIN_ACCURACY = 0.99  # the over-fit regime is one only when the model fits (nearly) all its labels
# a distilled student can only beat the student alone when the teacher is better than that student
TEACHER_CHECKS = {
    "distillation_few_labels": ("baseline", "alone_few_labels"),
    "distillation_all_labels": ("baseline", "alone_all_labels"),
}


@dataclass(frozen=True)
class TextRegimes:
    """How the text-task arms are trained: the shared loop's settings, fine-tuning after pruning, the over-fit
    regime's epochs, and distillation's temperature and soft-loss weight."""

    config: TrainConfig
    finetune_epochs: int = 3
    finetune_lr_scale: float = 1.0
    overfit_epochs: int = 40
    temperature: float = 4.0
    alpha: float = 0.7


def _row(seed: int, arm: str, model: nn.Module, data: EdgeData) -> dict[str, Any]:
    return {
        "seed": seed,
        "arm": arm,
        "test_accuracy": evaluate(model, data.x_test, data.y_test),
        "train_accuracy": evaluate(model, data.x_train, data.y_train),
    }


def run_text_regimes(task: TextTask, seeds: Sequence[int], settings: TextRegimes) -> pd.DataFrame:
    """Every arm of the text task's claims, per seed: test and training accuracy (columns seed, arm, …)."""
    data, config = task.data, settings.config

    def build(shape: dict[str, int], **extra: int) -> Callable[[], nn.Module]:
        return lambda: BagOfWords(task.vocab_size, data.num_classes, **shape, **extra)

    def tune(model: nn.Module, seed: int, desc: str) -> nn.Module:
        return fine_tune(
            model, data, config, seed, settings.finetune_epochs, settings.finetune_lr_scale, desc=desc
        ).model

    rows = []
    for seed in tqdm(list(seeds), desc="text task seeds", leave=False):
        (baseline,) = train_over_seeds(build(BASELINE_SHAPE), [seed], data, config, desc="baseline")
        (factorised,) = train_over_seeds(
            build(BASELINE_SHAPE, factor_dim=TEXT_FACTOR_DIM), [seed], data, config, desc="factorised"
        )
        pruned = structured_prune(baseline.model, data.x_train[:2], TEXT_PRUNE_RATIO)
        arms = {
            "baseline": baseline.model,
            "factorised": factorised.model,
            "baseline_finetuned": tune(copy.deepcopy(baseline.model), seed, "fine-tune"),
            "pruned_finetuned": tune(pruned, seed, "pruned fine-tune"),
            "int8_weights": fake_quantize_weights(baseline.model, OVERFIT_BITS),
        }
        distil = DistillationLoss(baseline.model, settings.temperature, settings.alpha)
        for label, fraction in (("few_labels", TEXT_FEW_LABELS), ("all_labels", 1.0)):
            subset, tuned = labelled_subset(data, fraction, seed), fraction_config(config, fraction)
            for arm, loss in ((f"alone_{label}", None), (f"distilled_{label}", lambda _s, d=distil: d)):
                (student,) = train_over_seeds(build(STUDENT_SHAPE), [seed], subset, tuned, loss, desc=arm)
                arms[arm] = student.model
        rows += [_row(seed, arm, model, data) for arm, model in arms.items()]
    overfit = overfit_sweep(
        data,
        config,
        list(seeds),
        settings.overfit_epochs,
        [OVERFIT_SPARSITY],
        [OVERFIT_BITS],
        build=build(BASELINE_SHAPE),
    )
    named = {"dense": "overfit_dense", "dense_finetuned": "overfit_dense_finetuned"}
    named |= {"pruned_finetuned": "overfit_pruned_finetuned", "fake_quant": "overfit_int8_weights"}
    overfit = overfit[overfit.variant.isin(list(named))].assign(arm=lambda f: f.variant.map(named))
    return pd.concat([pd.DataFrame(rows), overfit[["seed", "arm", "test_accuracy", "train_accuracy"]]])


def arm_accuracies(frame: pd.DataFrame, arm: str, column: str = "test_accuracy") -> list[float]:
    """One arm's accuracies in seed order."""
    picked = frame[frame.arm == arm].sort_values("seed")
    require(len(picked) > 0, f"No text-task arm {arm!r}; the arms are {sorted(frame.arm.unique())}.")
    return [float(a) for a in picked[column]]


def claim_checks(frame: pd.DataFrame, key: str) -> dict[str, bool]:
    """What must hold for a text-task claim to mean anything, each check named by what it measured: for a
    distilled student, a teacher more accurate than the student alone (its paired interval above zero); in the
    over-fit regime, a model that fits its training labels (training accuracy ≥ OVERFIT_TRAIN_ACCURACY)."""
    checks = {}
    if key in TEACHER_CHECKS:
        teacher, alone = TEACHER_CHECKS[key]
        gap = paired_difference_interval(arm_accuracies(frame, teacher), arm_accuracies(frame, alone))
        checks[
            f"the teacher is more accurate than the student alone ({100 * gap.value:+.2f} pts, interval "
            f"{100 * gap.low:+.2f} to {100 * gap.high:+.2f})"
        ] = gap.low > 0
    if key.endswith("_overfit"):
        fit = float(np.mean(arm_accuracies(frame, "overfit_dense", "train_accuracy")))
        checks[f"the model over-fits its labels (training accuracy {fit:.1%})"] = (
            fit >= OVERFIT_TRAIN_ACCURACY
        )
    return checks
