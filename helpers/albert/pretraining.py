"""ALBERT pretraining from scratch three ways — MLM only, MLM + NSP, MLM + SOP — and the paper's intrinsic
evaluation (held-out MLM, NSP and SOP accuracy with the pair head as is), a small-scale Table 5 of Lan et al.

The MLM head is applied only at the masked positions (about 15 % of tokens), which makes CPU training several
times cheaper than `AlbertForPreTraining.forward`, which projects every position onto the vocabulary. Runs are
independent (each seeds itself), so `run_table5` can spread them over worker processes, one thread each: on a
few cores, tiny models use the cores better side by side than by splitting each matrix product.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from helpers.albert.claims import PAPER_TABLE5
from helpers.albert.pairs import (
    IGNORE,
    TASKS,
    PairBuilder,
    SpecialTokens,
    TokenDocs,
    encode_pairs,
    mask_tokens,
)
from helpers.albert.workers import map_jobs
from helpers.core.cache import verified
from helpers.core.params import require
from helpers.core.precision import training_precision
from helpers.core.results import cache_dir
from helpers.core.seeding import seed_everything

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TOKENIZER_VERSION = 1
CHANCE = 0.5
TASK_NAMES = {"mlm": "MLM only (no pair loss)", "nsp": "MLM + NSP", "sop": "MLM + SOP"}


@dataclass(frozen=True)
class ModelSize:
    """ALBERT shape: factorised embedding size, hidden width, (shared) layers applied, attention heads."""

    embedding_size: int
    hidden_size: int
    num_layers: int
    num_heads: int

    def config(self, vocab_size: int, max_len: int, special: SpecialTokens):
        """The `AlbertConfig` of this size (no dropout, as in ALBERT v2; feed-forward 4 × hidden; ALBERT's tanh
        GELU computed by PyTorch's fused kernel, the same function as transformers' default "gelu_new")."""
        from transformers import AlbertConfig

        require(
            self.hidden_size % self.num_heads == 0,
            f"hidden_size={self.hidden_size} is not divisible by num_heads={self.num_heads}; pick a divisor.",
        )
        return AlbertConfig(
            vocab_size=vocab_size,
            embedding_size=self.embedding_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=4 * self.hidden_size,
            max_position_embeddings=max_len,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            classifier_dropout_prob=0.0,
            hidden_act="gelu_pytorch_tanh",
            pad_token_id=special.pad,
            bos_token_id=special.cls,
            eos_token_id=special.sep,
        )


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """Optimisation, data and evaluation settings shared by the three pretraining tasks (given by name)."""

    # optimisation
    steps: int
    learning_rate: float
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    batch_size: int
    bf16: bool = False
    # data: sequence length, n-gram masking and how sentence pairs are built
    max_len: int
    mask_rate: float = 0.15
    max_ngram: int = 3
    construction: str = "controlled"
    # evaluation
    eval_every: int = 50


# ---------------------------------------------------------------------------------------------------- tokenizer


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A SentencePiece-style unigram tokenizer (NFKC, lower case, metaspace) trained with `tokenizers`, wrapped
    as a transformers `PreTrainedTokenizerFast` that adds [CLS] A [SEP] B [SEP] with token types."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    require(vocab_size > len(SPECIAL_TOKENS) + 26, f"vocab_size={vocab_size} is too small; use at least 100.")
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.Lowercase(),
            normalizers.Replace(Regex(r"\s+"), " "),
            normalizers.Strip(),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), unk_token="[UNK]", max_piece_length=16
    )
    tok.train_from_iterator(texts, trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def load_tokenizer(folder: Path):
    """Reload a tokenizer saved with `save_pretrained` as a transformers fast tokenizer."""
    from transformers import PreTrainedTokenizerFast

    require(
        (folder / "tokenizer.json").exists(), f"No tokenizer.json in {folder}; save one with save_pretrained."
    )
    try:
        return PreTrainedTokenizerFast.from_pretrained(str(folder))
    except Exception as error:  # tokenizers raises a bare Exception for a cut-short or invalid tokenizer.json
        raise ValueError(
            f"{folder / 'tokenizer.json'} cannot be loaded ({str(error)[:120]}); save the tokenizer there again."
        ) from error


def cached_tokenizer(texts: Sequence[str], vocab_size: int):
    """Train the tokenizer once per (texts, vocab size), save it under the cache folder, and reload it from there."""
    digest = hashlib.sha256(json.dumps([TOKENIZER_VERSION, vocab_size, list(texts)]).encode()).hexdigest()[
        :16
    ]
    folder = cache_dir() / "sop_tokenizer" / f"unigram-{vocab_size}-{digest}"
    holds = {"tokenizer_version": TOKENIZER_VERSION, "vocab_size": vocab_size, "texts_digest": digest}
    return load_tokenizer(
        verified(folder, holds, lambda tmp: train_tokenizer(texts, vocab_size).save_pretrained(str(tmp)))
    )


def special_tokens(tokenizer) -> SpecialTokens:
    """The special-token ids of a tokenizer made by `train_tokenizer` (specials take the first ids)."""
    ids = [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS]
    require(ids == list(range(len(SPECIAL_TOKENS))), f"Special tokens must have ids 0–4, got {ids}.")
    return SpecialTokens(
        pad=tokenizer.pad_token_id,
        cls=tokenizer.cls_token_id,
        sep=tokenizer.sep_token_id,
        mask=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        first_regular=len(SPECIAL_TOKENS),
    )


def tokenize_documents(tokenizer, documents: Sequence) -> list[list[list[int]]]:
    """Token ids (no special tokens) of every segment of every document, in one batched call."""
    flat = [s for d in documents for s in d.segments]
    encoded = tokenizer(flat, add_special_tokens=False)["input_ids"]
    out, start = [], 0
    for d in documents:
        out.append(encoded[start : start + len(d.segments)])
        start += len(d.segments)
    return out


# ---------------------------------------------------------------------------------------------------- model


def new_model(size: ModelSize, special: SpecialTokens, max_len: int, seed: int):
    """A freshly initialised `AlbertForPreTraining` (same seed → same initial weights for every task)."""
    from transformers import AlbertForPreTraining

    seed_everything(seed)
    return AlbertForPreTraining(size.config(special.vocab_size, max_len, special))


def heads_forward(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encoder once, MLM head only at masked positions, pair head on the pooled [CLS]:
    returns (MLM logits of the masked tokens, their targets, pair logits)."""
    out = model.albert(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        token_type_ids=batch["token_type_ids"],
    )
    where = batch["labels"] != IGNORE
    mlm_logits = model.predictions(out.last_hidden_state[where])
    return mlm_logits, batch["labels"][where], model.sop_classifier(out.pooler_output)


def make_batch(
    task: str,
    builder: PairBuilder,
    special: SpecialTokens,
    settings: TrainSettings,
    n: int,
    rng: np.random.Generator,
) -> dict[str, torch.Tensor]:
    """n pairs for `task`, encoded and masked: input_ids, token_type_ids, attention_mask, labels, pair_labels."""
    batch = encode_pairs(builder.pairs(task, n, rng), special, settings.max_len)
    batch["input_ids"], batch["labels"] = mask_tokens(
        batch["input_ids"], special, rng, settings.mask_rate, settings.max_ngram
    )
    return batch


def make_eval_sets(
    docs: TokenDocs,
    special: SpecialTokens,
    settings: TrainSettings,
    n_pairs: int,
    seed: int = 1234,
) -> dict[str, list[dict[str, torch.Tensor]]]:
    """Fixed held-out evaluation batches for MLM (original pairs), NSP and SOP — identical for every model — in
    the pair construction of `settings`."""
    rng = np.random.default_rng(seed)
    builder = PairBuilder(docs, settings.construction)
    sets = {}
    for task in TASKS:
        batches, left = [], n_pairs
        while left > 0:
            size = min(left, 256)
            batches.append(make_batch(task, builder, special, settings, size, rng))
            left -= size
        sets[task] = batches
    return sets


def _to(batch: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _autocast(device: str, bf16: bool):
    """bf16 autocast where the GPU has bf16 (capability ≥ 8.0), else fp32: this loop has no gradient scaler."""
    return training_precision(device, mixed=bf16, allow_fp16=False).autocast()


@torch.no_grad()
def evaluate(model, eval_sets: dict[str, list[dict[str, torch.Tensor]]], device: str, bf16: bool = False):
    """Held-out MLM accuracy (masked tokens) and NSP / SOP accuracy of the pair head as is."""
    model.eval()
    scores = {}
    for task, batches in eval_sets.items():
        right = total = 0
        for batch in batches:
            batch = _to(batch, device)
            with _autocast(device, bf16):
                mlm_logits, targets, pair_logits = heads_forward(model, batch)
            if task == "mlm":
                right += int((mlm_logits.argmax(-1) == targets).sum())
                total += int(targets.numel())
            else:
                right += int((pair_logits.argmax(-1) == batch["pair_labels"]).sum())
                total += int(batch["pair_labels"].numel())
        scores[f"{task}_acc"] = right / max(total, 1)
    model.train()
    return scores


def pretrain(
    task: str,
    docs: TokenDocs,
    special: SpecialTokens,
    size: ModelSize,
    settings: TrainSettings,
    seed: int,
    device: str = "cpu",
    curve_sets: dict[str, list[dict[str, torch.Tensor]]] | None = None,
    progress: bool = True,
):
    """Pretrain from scratch with MLM (+ the pair loss of `task`, none for 'mlm'); returns (model, curve rows)."""
    require(task in TASKS, f"Unknown pretraining task {task!r}; use one of {', '.join(TASKS)}.")
    builder = PairBuilder(docs, settings.construction)
    model = new_model(size, special, settings.max_len, seed).to(device)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.learning_rate,
        fused=device == "cuda",
    )
    warmup = max(1, int(settings.warmup_fraction * settings.steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warmup, max(0.0, (settings.steps - s) / max(1, settings.steps - warmup))),
    )
    rng = np.random.default_rng(seed)
    curve: list[dict] = []
    bar = tqdm(range(1, settings.steps + 1), desc=f"{task} seed {seed}", leave=False, disable=not progress)
    for step in bar:
        batch = _to(make_batch(task, builder, special, settings, settings.batch_size, rng), device)
        with _autocast(device, settings.bf16):
            mlm_logits, targets, pair_logits = heads_forward(model, batch)
            mlm_loss = torch.nn.functional.cross_entropy(mlm_logits.float(), targets)
            pair_loss = torch.nn.functional.cross_entropy(pair_logits.float(), batch["pair_labels"])
        loss = mlm_loss if task == "mlm" else mlm_loss + pair_loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        row = {
            "task": task,
            "seed": seed,
            "step": step,
            "mlm_loss": mlm_loss.item(),
            "pair_loss": pair_loss.item(),
        }
        if curve_sets is not None and (step % settings.eval_every == 0 or step == settings.steps):
            row.update(evaluate(model, curve_sets, device, settings.bf16))
        curve.append(row)
    return model, curve


def pretrain_and_evaluate(
    job: tuple[str, int],
    docs: TokenDocs,
    special: SpecialTokens,
    size: ModelSize,
    settings: TrainSettings,
    eval_sets: dict[str, list[dict[str, torch.Tensor]]],
    curve_sets: dict[str, list[dict[str, torch.Tensor]]],
    device: str = "cpu",
) -> tuple[dict, list[dict], dict[str, torch.Tensor]]:
    """One (task, seed) run: pretrain, evaluate on the held-out sets; returns (run row, curve rows, CPU weights)."""
    task, seed = job
    start = time.perf_counter()
    model, curve = pretrain(task, docs, special, size, settings, seed, device, curve_sets, progress=False)
    train_s = time.perf_counter() - start
    row = {
        "task": task,
        "seed": seed,
        **evaluate(model, eval_sets, device, settings.bf16),
        "train_s": train_s,
    }
    return row, curve, {k: v.detach().cpu() for k, v in model.state_dict().items()}


def run_table5(
    docs: TokenDocs,
    heldout: TokenDocs,
    special: SpecialTokens,
    size: ModelSize,
    settings: TrainSettings,
    seeds: Sequence[int],
    eval_pairs: int,
    curve_pairs: int,
    device: str = "cpu",
    tasks: Sequence[str] = TASKS,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[tuple[str, int], dict[str, torch.Tensor]]]:
    """Every task × seed: pretrain, then evaluate on the held-out sets, on `workers` processes (one thread each;
    1 runs here). Returns (one row per run, curve rows, the pretrained weights per (task, seed))."""
    require(len(seeds) >= 1, "Give at least one seed.")
    eval_sets = make_eval_sets(heldout, special, settings, eval_pairs)
    curve_sets = make_eval_sets(heldout, special, settings, curve_pairs, seed=4321)
    jobs = [(t, s) for s in seeds for t in tasks]
    run = partial(
        pretrain_and_evaluate,
        docs=docs,
        special=special,
        size=size,
        settings=settings,
        eval_sets=eval_sets,
        curve_sets=curve_sets,
        device=device,
    )
    results = map_jobs(run, jobs, workers, desc=f"pretraining runs ({settings.construction} pairs)")
    runs = pd.DataFrame([row for row, _, _ in results])
    curves = pd.DataFrame([point for _, curve, _ in results for point in curve])
    weights = {job: state for job, (_, _, state) in zip(jobs, results, strict=True)}
    return runs, curves, weights


def load_pretrained(
    weights: dict[str, torch.Tensor], size: ModelSize, special: SpecialTokens, max_len: int
) -> torch.nn.Module:
    """An `AlbertForPreTraining` holding pretrained weights returned by `run_table5`."""
    model = new_model(size, special, max_len, seed=0)
    model.load_state_dict(weights)
    return model


# ---------------------------------------------------------------------------------------------------- analysis


def table5(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (over seeds, ddof=1; 0 with one seed) of each accuracy, per pretraining task."""
    rows = []
    for task, group in runs.groupby("task", sort=False):
        row = {"pretraining": task, "seeds": sorted(group["seed"].tolist())}
        for e in TASKS:
            values = group[f"{e}_acc"].to_numpy(dtype=float)
            row[f"{e}_acc_mean"] = float(values.mean())
            row[f"{e}_acc_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows).set_index("pretraining").reindex([t for t in TASKS if t in set(runs["task"])])


def side_by_side(summary: pd.DataFrame) -> pd.DataFrame:
    """Our accuracies (mean ± std, %) beside the paper's, one row per pretraining task."""
    rows = {}
    for task in summary.index:
        row = {}
        for e in TASKS:
            mean, std = 100 * summary.loc[task, f"{e}_acc_mean"], 100 * summary.loc[task, f"{e}_acc_std"]
            row[(e.upper(), "ours")] = f"{mean:.1f} ± {std:.1f}"
            row[(e.upper(), "paper")] = f"{PAPER_TABLE5.loc[task, e]:.1f}"
        rows[TASK_NAMES[task]] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["evaluation", ""])
    return frame


def one_sided_margin(values: Sequence[float], n_eval: int | None = None, confidence: float = 0.95) -> float:
    """The one-sided `confidence` margin of the mean accuracy: over seeds, t-quantile × standard error; with one
    seed, the binomial sampling error of that accuracy on `n_eval` held-out examples (seed spread unseen)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) >= 2:
        return float(stats.t.ppf(confidence, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    require(
        n_eval is not None and n_eval > 0,
        "With one seed the margin comes from the evaluation set; pass n_eval, or run two or more seeds.",
    )
    p = float(values[0])
    return float(stats.norm.ppf(confidence) * math.sqrt(p * (1 - p) / n_eval))


def distance_from_chance_upper(values: Sequence[float], n_eval: int | None = None) -> float:
    """|mean − 50 %| plus the one-sided 95 % margin, in points: how far from chance the accuracy could be."""
    return 100 * (abs(float(np.mean(values)) - CHANCE) + one_sided_margin(values, n_eval))


def above_chance_lower(values: Sequence[float], n_eval: int | None = None) -> float:
    """Mean − 50 % minus the one-sided 95 % margin, in points: how far above chance the accuracy surely is."""
    return 100 * (float(np.mean(values)) - CHANCE - one_sided_margin(values, n_eval))


def difference_lower(a: Sequence[float], b: Sequence[float], n_eval: int | None = None) -> float:
    """mean(a) − mean(b) minus the one-sided 95 % margin, in points: over seeds, the margin of the paired per-seed
    differences; with one seed, the binomial margin of two accuracies on `n_eval` examples each."""
    from scipy import stats

    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(diff) >= 2:
        return 100 * (float(diff.mean()) - one_sided_margin(diff))
    require(
        n_eval is not None and n_eval > 0,
        "With one seed the margin comes from the evaluation set; pass n_eval, or run two or more seeds.",
    )
    pa, pb = float(a[0]), float(b[0])
    margin = stats.norm.ppf(0.95) * math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n_eval)
    return 100 * (float(diff[0]) - margin)


def run_values(runs: pd.DataFrame, task: str, evaluation: str) -> list[float]:
    """Per-seed accuracies of the model pretrained with `task` on `evaluation`, sorted by seed."""
    rows = runs[runs["task"] == task].sort_values("seed")
    return rows[f"{evaluation}_acc"].astype(float).tolist()


def curve_frame(curves: pd.DataFrame) -> pd.DataFrame:
    """Held-out accuracy checkpoints: mean and std over seeds per task, step and evaluation."""
    points = curves.dropna(subset=[f"{e}_acc" for e in TASKS])
    return points.groupby(["task", "step"])[[f"{e}_acc" for e in TASKS]].agg(["mean", "std"]).reset_index()


def plot_curves(curves: pd.DataFrame, smooth: int = 20) -> Figure:
    """Learning curves: training MLM and pair loss (smoothed), and held-out MLM / NSP / SOP accuracy vs step."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(18, 3.6))
    colors = {"mlm": "0.45", "nsp": "#0072B2", "sop": "#E69F00"}  # grey baseline; Okabe–Ito blue and orange
    markers = {"mlm": "s", "nsp": "o", "sop": "^"}  # tasks told apart without colour too
    for task, group in curves.groupby("task", sort=False):
        mean = group.groupby("step")[["mlm_loss", "pair_loss"]].mean().rolling(smooth, min_periods=1).mean()
        axes[0].plot(
            mean.index, mean["mlm_loss"], color=colors[task], marker=markers[task], label=TASK_NAMES[task]
        )
        if task != "mlm":
            axes[1].plot(
                mean.index,
                mean["pair_loss"],
                color=colors[task],
                marker=markers[task],
                label=TASK_NAMES[task],
            )
        points = group.dropna(subset=["mlm_acc"]).groupby("step")[[f"{e}_acc" for e in TASKS]]
        mean_acc, std_acc = points.mean(), points.std().fillna(0.0)
        for ax, e in zip(axes[2:], TASKS, strict=True):
            ax.plot(
                mean_acc.index,
                100 * mean_acc[f"{e}_acc"],
                marker=markers[task],
                ms=3,
                color=colors[task],
                label=TASK_NAMES[task],
            )
            ax.fill_between(
                mean_acc.index,
                100 * (mean_acc[f"{e}_acc"] - std_acc[f"{e}_acc"]),
                100 * (mean_acc[f"{e}_acc"] + std_acc[f"{e}_acc"]),
                color=colors[task],
                alpha=0.15,
            )
    axes[0].set(title="training MLM loss", xlabel="step")
    axes[1].set(title="training pair loss", xlabel="step")
    for ax, e in zip(axes[2:], TASKS, strict=True):
        ax.set(title=f"held-out {e.upper()} accuracy (%)", xlabel="step")
        if e != "mlm":
            ax.axhline(50, color="black", lw=0.8, ls=":")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def settings_dict(size: ModelSize, settings: TrainSettings) -> dict:
    """Model size and training settings as one flat dict (for the record)."""
    return {**asdict(size), **asdict(settings)}
