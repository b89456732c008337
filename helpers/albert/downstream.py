"""Downstream tasks built offline from held-out documents, and fine-tuning of a pretrained ALBERT encoder on them.

Two tasks, in the spirit of the paper's single-segment and segment-pair benchmarks:
- 'package': which package (or the standard library, or the language reference) a paragraph comes from;
- 'next_or_later': given two paragraphs of one document in their original order, does B directly follow A, or
  does it come two or more paragraphs later? (Never swapped, never from another document: neither SOP nor NSP.)
The held-out documents are split by module into fine-tuning and test documents, so no test paragraph has a
sibling in fine-tuning. Opening and closing paragraphs are never used in 'next_or_later' (the same control as
the controlled pairs).
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from helpers.albert.pairs import NOT_ORIGINAL, ORIGINAL, Pair, SpecialTokens, TokenDocs, encode_pairs
from helpers.core.params import require
from helpers.core.seeding import seed_everything
from helpers.core.stats import Estimate, mean_interval, proportion_difference_interval

DOWNSTREAM_TASKS = ("package", "next_or_later")
MIN_PER_CLASS = 10


@dataclass(frozen=True)
class DownstreamTask:
    """One labelled task: encoded fine-tuning and test sets and the names of its labels."""

    name: str
    labels: tuple[str, ...]
    train: dict[str, torch.Tensor]
    test: dict[str, torch.Tensor]


@dataclass(frozen=True)
class FinetuneSettings:
    """Fine-tuning settings shared by every pretrained model and task."""

    steps: int
    batch_size: int
    learning_rate: float
    max_len: int
    warmup_fraction: float = 0.1


def source_of(doc_id: str) -> str:
    """The package a document comes from: 'numpy' for 'numpy/linalg/...:norm@12', 'pydoc' for 'pydoc:if'."""
    return doc_id.split(":")[0].split("/")[0]


def _test_side(group: str) -> bool:
    return int(hashlib.sha256(f"downstream:{group}".encode()).hexdigest()[:8], 16) % 2 == 1


def split_documents(documents: Sequence) -> tuple[list[int], list[int]]:
    """Indices of held-out documents for fine-tuning and for testing, split by group (module) half and half."""
    train = [i for i, d in enumerate(documents) if not _test_side(d.group)]
    test = [i for i, d in enumerate(documents) if _test_side(d.group)]
    require(
        len(train) >= 2 and len(test) >= 2,
        f"The held-out documents split into {len(train)} fine-tuning and {len(test)} test documents; both need "
        "at least 2 — use a larger corpus or a larger held-out fraction.",
    )
    return train, test


def _balanced(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    classes = np.unique(labels)
    sizes = np.full(len(classes), n // len(classes)) + (np.arange(len(classes)) < n % len(classes))
    picks = [
        rng.choice(np.flatnonzero(labels == c), size=k, replace=True)
        for c, k in zip(classes, sizes, strict=True)
    ]
    return rng.permutation(np.concatenate(picks))  # exactly n examples, class sizes differ by at most one


Sides = dict[str, tuple[Sequence[int], int]]  # side ('train' / 'test') → (document indices, examples)


def _package_pairs(
    documents: Sequence, docs: TokenDocs, sides: Sides, rng: np.random.Generator
) -> tuple[tuple[str, ...], dict[str, list[Pair]]]:
    """Single paragraph → its package; classes with at least MIN_PER_CLASS paragraphs on both sides, sampled
    with balanced classes (chance = 1 / number of classes)."""
    rows = {
        side: [(source_of(documents[i].doc_id), d_tokens) for i in indices for d_tokens in docs[i]]
        for side, (indices, _) in sides.items()
    }
    counts = {side: pd.Series([r[0] for r in side_rows]).value_counts() for side, side_rows in rows.items()}
    names = sorted(
        s
        for s in counts["train"].index
        if min(counts["train"].get(s, 0), counts["test"].get(s, 0)) >= MIN_PER_CLASS
    )
    require(
        len(names) >= 2, f"Only {names} have {MIN_PER_CLASS} paragraphs on both sides; add corpus sources."
    )
    pairs = {}
    for side, (_, n) in sides.items():
        kept = [r for r in rows[side] if r[0] in names]
        labels = np.asarray([names.index(r[0]) for r in kept])
        chosen = _balanced(labels, n, rng)
        pairs[side] = [Pair(tuple(kept[i][1]), (), int(labels[i]), (0, 0), (0, 0)) for i in chosen]
    return tuple(names), pairs


def _next_or_later_pairs(
    docs: TokenDocs, indices: Sequence[int], n: int, rng: np.random.Generator
) -> list[Pair]:
    """Segment pair in order → does B directly follow A (0) or come two or more segments later (1)?"""
    starts = [(d, s) for d in indices for s in range(1, len(docs[d]) - 3)]  # s + 2 before the closing segment
    require(starts, "No held-out document has five segments; use a corpus with longer documents.")
    picks = rng.integers(0, len(starts), size=n)
    labels = rng.permutation(np.arange(n) >= n // 2)
    pairs = []
    for pick, later in zip(picks.tolist(), labels.tolist(), strict=True):
        d, s = starts[pick]
        b = int(rng.integers(s + 2, len(docs[d]) - 1)) if later else s + 1
        label = NOT_ORIGINAL if later else ORIGINAL
        pairs.append(Pair(tuple(docs[d][s]), tuple(docs[d][b]), label, (d, s), (d, b)))
    return pairs


def build_tasks(
    documents: Sequence,
    docs: TokenDocs,
    special: SpecialTokens,
    max_len: int,
    n_train: int,
    n_test: int,
    seed: int = 2024,
) -> dict[str, DownstreamTask]:
    """Both downstream tasks from the held-out documents, identical for every pretrained model."""
    rng = np.random.default_rng(seed)
    train_idx, test_idx = split_documents(documents)
    sides = {"train": (train_idx, n_train), "test": (test_idx, n_test)}
    labelled = {
        "package": _package_pairs(documents, docs, sides, rng),
        "next_or_later": (
            ("next", "later"),
            {side: _next_or_later_pairs(docs, indices, n, rng) for side, (indices, n) in sides.items()},
        ),
    }
    return {
        name: DownstreamTask(
            name,
            labels,
            encode_pairs(pairs["train"], special, max_len),
            encode_pairs(pairs["test"], special, max_len),
        )
        for name, (labels, pairs) in labelled.items()
    }


class Classifier(torch.nn.Module):
    """A pretrained ALBERT encoder with a new linear head on its pooled [CLS] output."""

    def __init__(self, encoder: torch.nn.Module, num_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Class logits of a batch of encoded inputs."""
        out = self.encoder(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"],
        )
        return self.head(out.pooler_output)


def _rows(data: dict[str, torch.Tensor], index: torch.Tensor | slice) -> dict[str, torch.Tensor]:
    return {k: v[index] for k, v in data.items()}


@torch.no_grad()
def accuracy(model: Classifier, data: dict[str, torch.Tensor], batch_size: int = 256) -> float:
    """Share of examples whose predicted class is the label."""
    model.eval()
    right = 0
    for start in range(0, len(data["pair_labels"]), batch_size):
        batch = _rows(data, slice(start, start + batch_size))
        right += int((model(batch).argmax(-1) == batch["pair_labels"]).sum())
    model.train()
    return right / len(data["pair_labels"])


def finetune(
    pretrained: torch.nn.Module, task: DownstreamTask, settings: FinetuneSettings, seed: int
) -> dict:
    """Fine-tune a copy of the encoder of `pretrained` (an `AlbertForPreTraining`) with a new head on `task`;
    returns its test accuracy and the time taken."""
    require(settings.steps > 0, f"Fine-tuning steps={settings.steps} must be positive.")
    seed_everything(seed)
    model = Classifier(copy.deepcopy(pretrained.albert), len(task.labels))
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.01)
    warmup = max(1, int(settings.warmup_fraction * settings.steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (settings.steps - s) / max(1, settings.steps - warmup))),
    )
    generator = torch.Generator().manual_seed(seed)
    n = len(task.train["pair_labels"])
    start = time.perf_counter()
    for _ in range(settings.steps):
        batch = _rows(task.train, torch.randint(0, n, (settings.batch_size,), generator=generator))
        loss = torch.nn.functional.cross_entropy(model(batch), batch["pair_labels"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    return {"accuracy": accuracy(model, task.test), "finetune_s": time.perf_counter() - start}


def finetune_job(
    job: tuple[str, int, str],
    weights: dict[tuple[str, int], dict[str, torch.Tensor]],
    tasks: dict[str, DownstreamTask],
    size,
    special: SpecialTokens,
    settings: FinetuneSettings,
) -> dict:
    """Fine-tune one model — 'scratch' (no pretraining) or the one pretrained with a task — on one task."""
    from helpers.albert.pretraining import load_pretrained, new_model

    name, seed, task_name = job
    model = (
        new_model(size, special, settings.max_len, seed)
        if name == "scratch"
        else load_pretrained(weights[(name, seed)], size, special, settings.max_len)
    )
    return {
        "pretraining": name,
        "seed": seed,
        "task": task_name,
        **finetune(model, tasks[task_name], settings, seed),
    }


def run_downstream(
    weights: dict[tuple[str, int], dict[str, torch.Tensor]],
    tasks: dict[str, DownstreamTask],
    size,
    special: SpecialTokens,
    settings: FinetuneSettings,
    seeds: Sequence[int],
    models: Sequence[str] = ("scratch", "mlm", "nsp", "sop"),
    workers: int = 1,
) -> pd.DataFrame:
    """Every model × seed fine-tuned on every task (same seed for pretraining and fine-tuning); one row each. Each
    (model, seed, task) is its own job, so that the workers stay busy to the end."""
    from functools import partial

    from helpers.albert.workers import map_jobs

    jobs = [(m, s, t) for s in seeds for m in models for t in tasks]
    run = partial(finetune_job, weights=weights, tasks=tasks, size=size, special=special, settings=settings)
    return pd.DataFrame(map_jobs(run, jobs, workers, desc="fine-tuning"))


def downstream_table(results: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy (%, mean ± std over seeds; std 0 with one seed) per pretrained model and task, and the mean
    over tasks."""
    stats = (100 * results.set_index(["pretraining", "task"])["accuracy"]).groupby(level=[0, 1], sort=False)
    mean, std = stats.mean().unstack(), stats.std().fillna(0.0).unstack()
    out = pd.DataFrame(index=mean.index)
    for task in mean.columns:
        out[task] = [f"{m:.1f} ± {s:.1f}" for m, s in zip(mean[task], std[task], strict=True)]
    out["average"] = mean.mean(axis=1).round(1)
    return out


def paired_accuracies(results: pd.DataFrame, model: str) -> list[float]:
    """Accuracies of one pretrained model over (seed, task), in a fixed order, for paired comparisons."""
    rows = results[results["pretraining"] == model].sort_values(["seed", "task"])
    return rows["accuracy"].astype(float).tolist()


def downstream_difference(results: pd.DataFrame, better: str, worse: str, n_test: int) -> Estimate:
    """Mean over tasks of accuracy(better) − accuracy(worse) in points, with its interval: over seeds, the t
    interval of the per-seed task-averaged differences; with one seed, the normal interval of the test accuracies
    (n_test examples per task)."""
    a = results[results["pretraining"] == better].pivot_table(index="seed", columns="task", values="accuracy")
    b = results[results["pretraining"] == worse].pivot_table(index="seed", columns="task", values="accuracy")
    require(len(a) > 0 and a.shape == b.shape, f"Need the same seeds and tasks for {better!r} and {worse!r}.")
    per_seed = (a - b).mean(axis=1).to_numpy()
    if len(per_seed) >= 2:
        return mean_interval(per_seed, "seeds").scaled(100)
    return proportion_difference_interval(a.iloc[0], b.iloc[0], n_test, "test examples").scaled(100)
