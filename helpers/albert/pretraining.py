"""ALBERT pretraining from scratch three ways — MLM only, MLM + NSP, MLM + SOP — and the paper's intrinsic
evaluation (held-out MLM, NSP and SOP accuracy with the pair head as is): the model, its batches and the training
loop. The tokenizer is in `helpers.albert.tokenizer`, Table 5 over tasks and seeds in `helpers.albert.table5`.

The MLM head is applied only at the masked positions (about 15 % of tokens), which makes CPU training several
times cheaper than `AlbertForPreTraining.forward`, which projects every position onto the vocabulary.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from helpers.albert.pairs import (
    IGNORE,
    TASKS,
    PairBuilder,
    SpecialTokens,
    TokenDocs,
    encode_pairs,
    mask_tokens,
)
from helpers.core.params import require
from helpers.core.precision import training_precision
from helpers.core.seeding import seed_everything


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
    # data: sequence length, n-gram masking, how sentence pairs are built and how long pairs are cut
    max_len: int
    mask_rate: float = 0.15
    max_ngram: int = 3
    construction: str = "controlled"
    truncation: str = "junction"
    # evaluation
    eval_every: int = 50


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
    batch = encode_pairs(builder.pairs(task, n, rng), special, settings.max_len, settings.truncation)
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


def load_pretrained(
    weights: dict[str, torch.Tensor], size: ModelSize, special: SpecialTokens, max_len: int
) -> torch.nn.Module:
    """An `AlbertForPreTraining` holding pretrained weights returned by `run_table5`."""
    model = new_model(size, special, max_len, seed=0)
    model.load_state_dict(weights)
    return model


def settings_dict(size: ModelSize, settings: TrainSettings) -> dict:
    """Model size and training settings as one flat dict (for the record)."""
    return {**asdict(size), **asdict(settings)}
