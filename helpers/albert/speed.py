"""Training-step time and peak memory of BERT and ALBERT pre-training models, plus optimizer and all-reduce costs."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from helpers.albert.configs import Shape, config_for
from helpers.core.benchmark import Timing, measure
from helpers.core.params import require

VARIANTS = ("default", "controlled")
# What the controlled pair gives ALBERT so that only factorization and sharing differ from BERT's library defaults.
CONTROLLED = {"hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
FP32_BYTES = 4
ADAM_STATES = 2  # exp_avg and exp_avg_sq, one fp32 tensor each per parameter
MASK_RATE = 0.15


def speed_config(shape: Shape, variant: str, attn_implementation: str = "sdpa"):
    """Library defaults ('default') or ALBERT given BERT's activation and dropout ('controlled'); same attention."""
    require(variant in VARIANTS, f"Unknown variant {variant!r}: use one of {', '.join(VARIANTS)}.")
    extra = CONTROLLED if variant == "controlled" and shape.family == "albert" else {}
    return config_for(shape, attn_implementation=attn_implementation, **extra)


@dataclass
class TrainStep:
    """One pre-training step (MLM + NSP/SOP loss, backward, AdamW step) of a model on a fixed random batch."""

    model: Any
    optimizer: Any
    batch: dict[str, Any]
    autocast: Any

    def __call__(self) -> None:
        """Forward, backward, optimizer step; gradients are freed afterwards so each step starts alike."""
        with self.autocast():
            loss = self.model(**self.batch).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def resident_bytes(self) -> int:
        """Bytes held between steps: parameters, buffers and optimizer state tensors."""
        tensors = [*self.model.parameters(), *self.model.buffers()]
        tensors += [
            t for state in self.optimizer.state.values() for t in state.values() if hasattr(t, "numel")
        ]
        return sum(t.numel() * t.element_size() for t in tensors)


def build_step(
    shape: Shape, variant: str, batch_size: int, seq_len: int, device: str = "cpu", bf16: bool = False
) -> TrainStep:
    """A BertForPreTraining / AlbertForPreTraining training step on `device` with a random masked batch."""
    import torch
    from transformers import AlbertForPreTraining, BertForPreTraining

    require(seq_len <= shape.positions, f"seq_len={seq_len} exceeds the model's {shape.positions} positions.")
    config = speed_config(shape, variant)
    cls = BertForPreTraining if shape.family == "bert" else AlbertForPreTraining
    with torch.device(device):
        model = cls(config).train()
        ids = torch.randint(5, shape.vocab, (batch_size, seq_len))
        labels = torch.where(torch.rand(batch_size, seq_len) < MASK_RATE, ids, torch.full_like(ids, -100))
        pair = torch.randint(0, 2, (batch_size,))
    pair_key = "next_sentence_label" if shape.family == "bert" else "sentence_order_label"
    batch = {"input_ids": ids, "labels": labels, pair_key: pair}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    autocast = (lambda: torch.autocast(device, dtype=torch.bfloat16)) if bf16 else nullcontext
    return TrainStep(model, optimizer, batch, autocast)


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null (the profiler's C++ start/stop log lines), restoring it afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _cpu_transient_peak(step: Callable[[], Any]) -> int:
    from torch._C._profiler import _EventType
    from torch.profiler import ProfilerActivity, profile

    with _native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    stack = list(prof.profiler.kineto_results.experimental_event_tree())
    peak = 0
    while stack:
        event = stack.pop()
        if event.typed[0] == _EventType.Allocation and event.typed[1].device.type == "cpu":
            peak = max(peak, event.typed[1].total_allocated)
        stack.extend(event.children)
    return peak


def _cuda_transient_peak(step: Callable[[], Any]) -> int:
    import torch

    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def peak_memory_bytes(step: TrainStep, device: str) -> int:
    """Resident bytes plus the peak of bytes allocated during one step (CPU: profiler events; CUDA: allocator)."""
    transient = _cuda_transient_peak(step) if device == "cuda" else _cpu_transient_peak(step)
    return step.resident_bytes() + transient


def interleaved_timings(
    steps: Mapping[str, Callable[[], Any]], repeats: int, label: str | None = None
) -> dict[str, Timing]:
    """Time every step once per round, `repeats` rounds, so drift on a busy machine hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in tqdm(range(repeats), desc=label, disable=label is None):
        for name, step in steps.items():
            times[name] += measure(step, warmup=0, repeats=1).times
    return {name: Timing(tuple(t)) for name, t in times.items()}


def training_state_bytes(n_params: int) -> dict[str, int]:
    """fp32 training state per parameter: weights, gradients and AdamW's two moment tensors."""
    return {
        "weights": FP32_BYTES * n_params,
        "gradients": FP32_BYTES * n_params,
        "adam_states": ADAM_STATES * FP32_BYTES * n_params,
    }


def allreduce_seconds(
    n_params: int, workers: int, bandwidth_bytes_s: float, bytes_per_param: int = 4
) -> float:
    """Ring all-reduce time of one gradient sync: 2(N−1)/N · params · bytes / per-link bandwidth."""
    require(workers >= 2, f"workers={workers}: a data-parallel all-reduce needs at least 2 workers.")
    require(bandwidth_bytes_s > 0, f"bandwidth {bandwidth_bytes_s!r} must be positive bytes per second.")
    return 2 * (workers - 1) / workers * n_params * bytes_per_param / bandwidth_bytes_s
