"""helpers.albert.speed: training steps run, memory is accounted, cost models follow their formulas."""

from __future__ import annotations

import pytest
import torch

from helpers.albert.configs import MODELS, analytic_params, scaled
from helpers.albert.speed import (
    CONTROLLED,
    VARIANTS,
    allreduce_seconds,
    build_step,
    interleaved_timings,
    op_group,
    peak_memory_bytes,
    plan_groups,
    profile_step,
    run_steps,
    speed_config,
    training_state_bytes,
)
from helpers.core.precision import Precision

from .fixtures import one_thread  # noqa: F401 (autouse: each test here runs on one PyTorch thread)

TINY = {name: scaled(shape, 32) for name, shape in MODELS.items()}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", ["bert-large", "albert-large"])
def test_step_trains_and_frees_gradients(name, variant):
    torch.manual_seed(0)
    step = build_step(TINY[name], variant, batch_size=2, seq_len=8)
    before = [p.detach().clone() for p in step.model.parameters()]
    step()
    assert all(p.grad is None for p in step.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, step.model.parameters(), strict=True))
    assert len(step.optimizer.state) == len(before)
    n_params = analytic_params(TINY[name])
    assert step.resident_bytes() >= 3 * 4 * n_params  # weights + two AdamW moments


def test_default_and_controlled_configs():
    albert_default = speed_config(MODELS["albert-large"], "default")
    albert_controlled = speed_config(MODELS["albert-large"], "controlled")
    bert = speed_config(MODELS["bert-large"], "controlled")
    assert albert_default.hidden_act == "gelu_new" and albert_default.hidden_dropout_prob == 0
    for key, value in CONTROLLED.items():
        assert getattr(albert_controlled, key) == value == getattr(bert, key)
    assert albert_controlled._attn_implementation == bert._attn_implementation == "sdpa"
    assert albert_controlled.num_hidden_groups == 1


def test_peak_memory_exceeds_resident_state():
    step = build_step(TINY["bert-base"], "default", batch_size=2, seq_len=8)
    step()
    peak = peak_memory_bytes(step, "cpu")
    assert peak > step.resident_bytes() > 0
    bigger = build_step(TINY["bert-base"], "default", batch_size=4, seq_len=16)
    bigger()
    assert peak_memory_bytes(bigger, "cpu") > peak  # more activations for a bigger batch


def test_bf16_autocast_step_runs_on_cpu():
    bf16 = Precision("bfloat16", "cpu", "test")
    step = build_step(TINY["albert-base"], "controlled", batch_size=2, seq_len=8, precision=bf16)
    step()
    assert step.scaler is None and all(p.dtype == torch.float32 for p in step.model.parameters())


def test_step_profile_breakdown():
    step = build_step(TINY["bert-large"], "default", batch_size=2, seq_len=8)
    step()
    profile = profile_step(step, "cpu")
    n_params = sum(p.numel() for p in step.model.parameters())  # the encoder plus the pre-training heads
    assert n_params > analytic_params(TINY["bert-large"])
    assert profile.weights >= 4 * n_params and profile.gradients == 4 * n_params
    assert profile.optimizer >= 8 * n_params and profile.activations > 0
    assert profile.peak == profile.weights + profile.optimizer + profile.transient
    assert profile.transient >= profile.gradients  # every gradient is allocated during the step
    assert set(profile.op_seconds) == {"matmul", "element-wise", "optimizer"}
    assert all(seconds > 0 for seconds in profile.op_seconds.values())


def test_shared_layers_save_weights_not_activations():
    """ALBERT-large shares its 24 layers: far fewer weights, the same depth of saved activations as BERT-large."""
    profiles = {}
    for name in ("bert-large", "albert-large"):
        step = build_step(TINY[name], "controlled", batch_size=2, seq_len=8)
        step()
        profiles[name] = profile_step(step, "cpu")
    assert profiles["bert-large"].weights > 10 * profiles["albert-large"].weights
    ratio = profiles["albert-large"].activations / profiles["bert-large"].activations
    assert 0.5 < ratio < 1.5


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("aten::addmm", "matmul"),
        ("aten::bmm", "matmul"),
        ("aten::mm", "matmul"),
        ("aten::_scaled_dot_product_flash_attention_for_cpu", "matmul"),
        ("aten::gelu", "element-wise"),
        ("aten::native_dropout", "element-wise"),
        ("aten::native_layer_norm", "element-wise"),
    ],
)
def test_op_groups(name, group):
    assert op_group(name) == group


GIB = 2**30
# Measured on a GPU at the paper's shapes (seq 512, batch 8, bf16): resident state and transient peak in GiB.
T4_LIKE = {
    "bert-large": (5.0, 6.0),
    "bert-base": (1.6, 2.5),
    "albert-base": (0.2, 2.3),
    "albert-large": (0.3, 6.0),
    "albert-xlarge": (0.9, 11.0),
    "albert-xxlarge": (3.3, 14.0),
}


@pytest.mark.parametrize("gpu_gib", [16, 24, 80])
def test_memory_plan_fits_the_gpu(gpu_gib):
    resident = {k: int(r * GIB) for k, (r, _) in T4_LIKE.items()}
    transient = {k: int(t * GIB) for k, (_, t) in T4_LIKE.items()}
    budget = int(0.9 * gpu_gib * GIB)
    groups, skipped = plan_groups(resident, transient, budget, "bert-large")
    for group in groups:
        assert group[0] == "bert-large"
        assert sum(resident[k] for k in group) + max(transient[k] for k in group) <= budget
    timed = {k for group in groups for k in group}
    assert timed | set(skipped) == set(T4_LIKE) and not timed & set(skipped)
    for key in skipped:
        assert resident["bert-large"] + resident[key] + max(transient[key], transient["bert-large"]) > budget
        assert "GiB" in skipped[key]
    if gpu_gib == 16:  # a Colab T4: xlarge and xxlarge cannot sit beside BERT-large
        assert set(skipped) == {"albert-xlarge", "albert-xxlarge"}
        assert groups == [["bert-large", "bert-base", "albert-base", "albert-large"]]  # 13.1 of 14.4 GiB
    if gpu_gib == 80:
        assert not skipped and len(groups) == 1


def test_memory_plan_without_a_limit_is_one_group():
    sizes = {"a": 10, "b": 20, "c": 30}
    assert plan_groups(sizes, sizes, None, "b") == ([["b", "a", "c"]], {})
    groups, skipped = plan_groups(sizes, sizes, 15, "b")
    assert groups == [] and set(skipped) == {"a", "b", "c"} and "reference b alone" in skipped["a"]


def test_run_steps_times_every_step_that_fits():
    keys = ["bert-large", "albert-large", "albert-base"]

    def build(key):
        return build_step(TINY[key], "default", 2, 8)

    run = run_steps(build, keys, "bert-large", "cpu", 1, 2)
    assert run.groups == [keys] and not run.skipped
    assert set(run.timings) == set(keys) and run.vs_reference["bert-large"] == 1.0
    budget = int(1.2 * run.profiles["bert-large"].peak)
    small = run_steps(build, keys, "bert-large", "cpu", 1, 2, budget=budget)
    timed = {k for group in small.groups for k in group}
    assert "bert-large" in timed and set(small.timings) == timed
    assert timed | set(small.skipped) == set(keys)
    for group in small.groups:
        profiles = [small.profiles[k] for k in group]
        assert sum(p.weights + p.optimizer for p in profiles) + max(p.transient for p in profiles) <= budget


def test_interleaved_timings_have_one_time_per_round():
    calls = []
    timings = interleaved_timings({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3)
    assert calls == ["a", "b"] * 3
    assert all(len(t.times) == 3 and t.median >= 0 for t in timings.values())


def test_training_state_is_16_bytes_per_parameter():
    state = training_state_bytes(1_000)
    assert state == {"weights": 4_000, "gradients": 4_000, "adam_states": 8_000}


def test_allreduce_formula():
    assert allreduce_seconds(1_000_000, 2, 4e6) == pytest.approx(1.0)
    big, small = (
        allreduce_seconds(analytic_params(MODELS[n]), 64, 12.5e9) for n in ("bert-large", "albert-large")
    )
    assert big / small == pytest.approx(
        analytic_params(MODELS["bert-large"]) / analytic_params(MODELS["albert-large"])
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: allreduce_seconds(10, 1, 1e9), "at least 2 workers"),
        (lambda: allreduce_seconds(10, 4, 0), "must be positive"),
        (lambda: speed_config(MODELS["bert-base"], "fast"), "Unknown variant"),
        (lambda: build_step(TINY["bert-base"], "default", 2, 64), "exceeds the model's 16 positions"),
    ],
)
def test_bad_parameters_say_what_to_do(call, message):
    with pytest.raises(ValueError, match=message):
        call()
