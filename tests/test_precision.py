"""helpers.core.precision: the training dtype follows the GPU's compute capability; CPU stays fp32."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from helpers.core.precision import Precision, backward_step, training_precision

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
# what only helpers/core/precision.py may call of torch: the autocast context, the gradient scaler, the bf16 probe
PRECISION_CALLS = {"autocast", "GradScaler", "is_bf16_supported"}


@pytest.mark.parametrize(
    ("capability", "allow_fp16", "dtype"),
    [
        ((9, 0), True, "bfloat16"),  # H100
        ((8, 0), True, "bfloat16"),  # A100
        ((8, 6), False, "bfloat16"),  # A10 / RTX 30xx
        ((7, 5), True, "float16"),  # T4: no bf16 tensor cores
        ((7, 0), True, "float16"),  # V100
        ((7, 5), False, "float32"),  # a loop without a gradient scaler
        ((6, 0), False, "float32"),  # P100
    ],
)
def test_dtype_from_capability(capability, allow_fp16, dtype):
    chosen = training_precision("cuda", capability=capability, allow_fp16=allow_fp16)
    assert chosen.dtype == dtype
    assert chosen.grad_scaler == (dtype == "float16")
    assert f"{capability[0]}.{capability[1]}" in chosen.reason and dtype in str(chosen)


@pytest.mark.parametrize(
    ("capability", "dtype"),
    [
        ((6, 0), "float16"),
        ((7, 0), "float16"),
        ((7, 5), "float16"),
        ((8, 0), "bfloat16"),
        ((9, 0), "bfloat16"),
    ],
    ids=["P100", "V100", "T4", "A100", "H100"],
)
def test_the_visible_gpu_picks_the_dtype_from_its_capability_not_from_torchs_bf16_probe(
    monkeypatch, capability, dtype
):
    # on a T4 torch.cuda.is_bf16_supported() is True (bf16 is emulated there): the policy must not follow it
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *args: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    chosen = training_precision("cuda")
    assert chosen.dtype == dtype and (chosen.new_scaler() is not None) == (dtype == "float16")


def test_every_training_loop_takes_its_autocast_and_scaler_from_the_one_policy():
    calls = {
        f"{path.relative_to(HELPERS.parent)}:{node.lineno}"
        for path in HELPERS.rglob("*.py")
        if path != HELPERS / "core" / "precision.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and ast.unparse(node.func).split(".")[-1] in PRECISION_CALLS
        and ast.unparse(node.func).split(".")[0] in ("torch", *PRECISION_CALLS)
    }
    assert not calls, f"autocast or gradient scaling outside helpers.core.precision: {sorted(calls)}"


def test_a_scaled_fp16_step_and_a_plain_step_both_train():
    for precision in (Precision("float16", "cpu", "test"), training_precision("cpu")):
        model = torch.nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = precision.new_scaler()
        before = model.weight.detach().clone()
        for _ in range(5):  # a scaler skips the steps whose scaled gradients overflow, then lowers its scale
            optimizer.zero_grad()
            with precision.autocast():
                loss = model(torch.ones(8, 4)).float().pow(2).mean()
            backward_step(loss, optimizer, scaler)
        assert (scaler is None) == (precision.dtype == "float32")
        assert not torch.equal(before, model.weight)


def test_cpu_and_switched_off_stay_fp32():
    assert training_precision("cpu").dtype == "float32"
    assert training_precision("cuda", mixed=False, capability=(9, 0)).dtype == "float32"
    assert "fp32" in training_precision("cpu").reason


def test_autocast_runs_the_chosen_dtype_on_cpu():
    weight = torch.ones(4, 4)
    with Precision("bfloat16", "cpu", "test").autocast():
        assert (torch.ones(2, 4) @ weight).dtype == torch.bfloat16
    with training_precision("cpu").autocast():
        assert (torch.ones(2, 4) @ weight).dtype == torch.float32


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: training_precision("tpu"), "Unknown device 'tpu'"),
        (lambda: Precision("int8", "cpu", "x"), "Unknown training dtype 'int8'"),
    ],
)
def test_bad_input_says_what_to_do(call, message):
    with pytest.raises(ValueError, match=message):
        call()
