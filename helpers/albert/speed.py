"""Training-step time and peak memory of BERT and ALBERT pre-training models, plus optimizer and all-reduce costs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from tqdm.auto import tqdm

from helpers.albert.configs import Shape, config_for
from helpers.core.benchmark import Timing, measure, synchronize
from helpers.core.noise import native_stderr_silenced
from helpers.core.params import require
from helpers.core.precision import Precision, backward_step, training_precision

VARIANTS = ("default", "controlled")
# What the controlled pair gives ALBERT so that only factorization and sharing differ from BERT's library defaults.
CONTROLLED = {"hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
FP32_BYTES = 4
ADAM_STATES = 2  # exp_avg and exp_avg_sq, one fp32 tensor each per parameter
MASK_RATE = 0.15
MATMUL_OPS = (
    "mm",
    "matmul",
    "linear",
    "scaled_dot_product",
    "attention",
)  # aten::mm, addmm, bmm, sdpa kernels…
OP_GROUPS = ("matmul", "element-wise", "optimizer")
FREE_MEMORY_SHARE = 0.9  # leave a tenth of the free GPU memory to the allocator's fragmentation
K = TypeVar("K")


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
    precision: Precision
    scaler: Any = None

    def __call__(self) -> None:
        """Forward, backward, optimizer step (loss-scaled for fp16); gradients are freed so each step starts alike."""
        with self.precision.autocast():
            loss = self.model(**self.batch).loss
        backward_step(loss, self.optimizer, self.scaler)
        self.optimizer.zero_grad(set_to_none=True)

    def weight_bytes(self) -> int:
        """Bytes of the parameters and buffers (each shared tensor once)."""
        return sum(t.numel() * t.element_size() for t in (*self.model.parameters(), *self.model.buffers()))

    def optimizer_bytes(self) -> int:
        """Bytes of the optimizer state (AdamW's two moments and step counters)."""
        states = self.optimizer.state.values()
        return sum(
            t.numel() * t.element_size() for state in states for t in state.values() if hasattr(t, "numel")
        )

    def resident_bytes(self) -> int:
        """Bytes held between steps: parameters, buffers and optimizer state tensors."""
        return self.weight_bytes() + self.optimizer_bytes()


def build_step(
    shape: Shape,
    variant: str,
    batch_size: int,
    seq_len: int,
    device: str = "cpu",
    precision: Precision | None = None,
) -> TrainStep:
    """A BertForPreTraining / AlbertForPreTraining training step on `device` with a random masked batch."""
    import torch
    from transformers import AlbertForPreTraining, BertForPreTraining

    require(seq_len <= shape.positions, f"seq_len={seq_len} exceeds the model's {shape.positions} positions.")
    precision = precision or training_precision(device, mixed=False)
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
    return TrainStep(model, optimizer, batch, precision, precision.new_scaler())


def op_group(name: str) -> str:
    """The group of a profiled operator outside the optimizer: 'matmul' (dense products, attention kernels) or
    'element-wise' (activations, dropout, LayerNorm, softmax, adds, copies, embedding look-ups)."""
    return "matmul" if any(part in name for part in MATMUL_OPS) else "element-wise"


def _under_optimizer(event: Any) -> bool:
    while event is not None:
        if event.name.startswith("Optimizer.step"):
            return True
        event = event.cpu_parent
    return False


def _cuda_group_seconds(events: Any) -> dict[str, float]:
    """GPU self time of the profiled operators per group; everything under the optimizer step is 'optimizer'."""
    seconds = dict.fromkeys(OP_GROUPS, 0.0)
    for event in events:
        if event.name.startswith("aten::"):
            group = "optimizer" if _under_optimizer(event.cpu_parent) else op_group(event.name)
            seconds[group] += event.self_device_time_total / 1e6
    return seconds


def _cpu_peak_and_group_seconds(prof: Any) -> tuple[int, dict[str, float]]:
    """Peak bytes allocated (profiler allocation events) and CPU self time per operator group, from the event tree."""
    from torch._C._profiler import _EventType

    seconds = dict.fromkeys(OP_GROUPS, 0.0)
    peak = 0
    stack = [(event, False) for event in prof.profiler.kineto_results.experimental_event_tree()]
    while stack:
        event, in_optimizer = stack.pop()
        kind = event.typed[0]
        if kind == _EventType.Allocation and event.typed[1].device.type == "cpu":
            peak = max(peak, event.typed[1].total_allocated)
        in_optimizer = in_optimizer or event.name.startswith("Optimizer.step")
        if kind == _EventType.TorchOp and event.name.startswith("aten::"):
            ops = [child for child in event.children if child.typed[0] == _EventType.TorchOp]
            own = event.duration_time_ns - sum(child.duration_time_ns for child in ops)
            seconds["optimizer" if in_optimizer else op_group(event.name)] += own / 1e9
        stack.extend((child, in_optimizer) for child in event.children)
    return peak, seconds


@dataclass(frozen=True)
class StepProfile:
    """Memory (bytes) and per-group operator time (seconds) of one profiled training step."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    transient: int
    op_seconds: dict[str, float]

    @property
    def peak(self) -> int:
        """Peak bytes of the step: what is held between steps plus the peak allocated during it."""
        return self.weights + self.optimizer + self.transient

    def breakdown(self) -> dict[str, int]:
        """Weights, gradients, optimizer state and saved activations, in bytes."""
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer state": self.optimizer,
            "activations": self.activations,
        }


def profile_step(step: TrainStep, device: str) -> StepProfile:
    """Run one step under the PyTorch profiler: peak memory, saved-activation bytes and operator time by group.

    Transient peak: profiler allocation events on CPU, the CUDA allocator's peak on a GPU. Activations: the
    distinct storages autograd saves for backward, parameters excluded (they are counted as weights).
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    own = {p.untyped_storage().data_ptr() for p in step.model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in own:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    if device == "cuda":
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    with (
        native_stderr_silenced(),
        profile(activities=activities, profile_memory=device == "cpu") as prof,
        torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor),
    ):
        step()
        synchronize()
    if device == "cuda":
        transient, op_seconds = torch.cuda.max_memory_allocated() - before, _cuda_group_seconds(prof.events())
    else:
        transient, op_seconds = _cpu_peak_and_group_seconds(prof)
    weights = step.weight_bytes()
    return StepProfile(
        weights=weights,
        gradients=sum(p.numel() * p.element_size() for p in step.model.parameters() if p.requires_grad),
        optimizer=step.optimizer_bytes(),
        activations=sum(saved.values()),
        transient=transient,
        op_seconds=op_seconds,
    )


def peak_memory_bytes(step: TrainStep, device: str) -> int:
    """Resident bytes plus the peak of bytes allocated during one profiled step."""
    return profile_step(step, device).peak


def interleaved_timings(
    steps: Mapping[K, Callable[[], Any]], repeats: int, label: str | None = None
) -> dict[K, Timing]:
    """Time every step once per round, `repeats` rounds, so drift on a busy machine hits all of them alike."""
    times: dict[K, list[float]] = {name: [] for name in steps}
    for _ in tqdm(range(repeats), desc=label, disable=label is None):
        for name, step in steps.items():
            times[name] += measure(step, warmup=0, repeats=1).times
    return {name: Timing(tuple(t)) for name, t in times.items()}


def memory_budget(device: str, gib: float | None = None) -> int | None:
    """Bytes the speed runs may fill: `gib` when given, else 90 % of the GPU's free memory; None (no limit) on CPU."""
    if gib is not None:
        return int(gib * 2**30)
    if device != "cuda":
        return None
    import torch

    return int(FREE_MEMORY_SHARE * torch.cuda.mem_get_info()[0])


def plan_groups(
    resident: Mapping[K, int], transient: Mapping[K, int], budget: int | None, reference: K
) -> tuple[list[list[K]], dict[K, str]]:
    """Pack steps into groups that fit `budget` together with the reference step; list those that never fit.

    A group needs the resident bytes of all its steps plus the largest transient peak of one of them (steps run
    one at a time). Every group holds the reference, so each ratio comes from one interleaved run.
    """
    require(
        reference in resident, f"The reference step {reference!r} has no measured memory; measure it first."
    )

    def need(group: list[K]) -> int:
        return sum(resident[k] for k in group) + max(transient[k] for k in group)

    gib = f"{budget / 2**30:.3g} GiB" if budget is not None else ""
    if budget is not None and need([reference]) > budget:
        reason = f"the reference {reference} alone needs {need([reference]) / 2**30:.3g} GiB of the {gib}"
        return [], {k: reason for k in resident}
    groups: list[list[K]] = []
    skipped: dict[K, str] = {}
    for key in (k for k in resident if k != reference):
        if budget is not None and need([reference, key]) > budget:
            skipped[key] = (
                f"needs {need([reference, key]) / 2**30:.1f} GiB beside the reference; {gib} available"
            )
            continue
        for group in groups:
            if budget is None or need([*group, key]) <= budget:
                group.append(key)
                break
        else:
            groups.append([reference, key])
    return groups or [[reference]], skipped


@dataclass
class SpeedRun:
    """Step profiles, interleaved timings and speed relative to the reference, plus what memory kept out."""

    profiles: dict[Any, StepProfile]
    timings: dict[Any, Timing]
    vs_reference: dict[Any, float]
    skipped: dict[Any, str]
    groups: list[list[Any]]


def run_steps(
    build: Callable[[K], TrainStep],
    keys: list[K],
    reference: K,
    device: str,
    warmup: int,
    repeats: int,
    budget: int | None = None,
    label: str | None = None,
) -> SpeedRun:
    """Profile each step alone, pack the steps into groups that fit `budget`, time each group interleaved.

    With no budget (CPU) every step stays built and one group is timed; with a budget each step is built,
    profiled and freed, then rebuilt group by group, so at most one group is resident at a time. A step that
    runs out of device memory on its own is skipped with the reason.
    """
    import torch

    require(reference in keys, f"The reference {reference!r} must be one of the steps to time.")
    kept: dict[K, TrainStep] = {}
    profiles: dict[K, StepProfile] = {}
    skipped: dict[K, str] = {}

    def warm(key: K) -> TrainStep:
        step = build(key)
        for _ in range(warmup):
            step()
        return step

    for key in tqdm(keys, desc=f"{label}: warm-up and profile" if label else None, disable=label is None):
        try:
            step = warm(key)
            profiles[key] = profile_step(step, device)
        except torch.cuda.OutOfMemoryError as error:
            skipped[key] = f"out of memory on its own ({str(error).splitlines()[0][:80]})"
            step = None
        if budget is None and step is not None:
            kept[key] = step
        del step
        _release(device)
    if reference in skipped:
        return SpeedRun(profiles, {}, {}, {k: skipped.get(k, skipped[reference]) for k in keys}, [])
    groups, too_big = plan_groups(
        {k: p.weights + p.optimizer for k, p in profiles.items()},
        {k: p.transient for k, p in profiles.items()},
        budget,
        reference,
    )
    skipped.update(too_big)
    timings: dict[K, Timing] = {}
    ratios: dict[K, float] = {}
    for number, group in enumerate(groups, 1):
        steps = {k: kept[k] if k in kept else warm(k) for k in group}
        desc = f"{label}: timed rounds" + (f", group {number}/{len(groups)}" if len(groups) > 1 else "")
        measured = interleaved_timings(steps, repeats, desc if label else None)
        for key, timing in measured.items():
            if key != reference or reference not in timings:
                timings[key] = timing
            ratios[key] = measured[reference].median / timing.median
        del steps
        _release(device)
    kept.clear()
    return SpeedRun(profiles, timings, ratios, skipped, groups)


def _release(device: str) -> None:
    """Free what Python still holds and, on a GPU, return cached blocks so the next build sees them."""
    import gc

    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


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
