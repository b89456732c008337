"""helpers.core.precision: the training dtype follows the GPU's compute capability; CPU stays fp32."""

from __future__ import annotations

import pytest
import torch

from helpers.core.precision import Precision, training_precision


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
