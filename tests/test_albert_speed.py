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
    peak_memory_bytes,
    speed_config,
    training_state_bytes,
)  # fmt: skip

TINY = {name: scaled(shape, 32) for name, shape in MODELS.items()}


@pytest.fixture(autouse=True)
def one_thread():
    """One PyTorch thread: these tiny models run faster, and far faster on a machine shared with other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
    step = build_step(TINY["albert-base"], "controlled", batch_size=2, seq_len=8, bf16=True)
    step()
    assert all(p.dtype == torch.float32 for p in step.model.parameters())


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
