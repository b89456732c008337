"""Training precision from the hardware: bf16 where the GPU has it, fp16 with a gradient scaler or fp32 below."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from helpers.core.params import require

BF16_CAPABILITY = (8, 0)  # Ampere and newer have bf16 tensor cores; older GPUs only emulate bf16
DTYPES = ("bfloat16", "float16", "float32")


@dataclass(frozen=True)
class Precision:
    """The dtype autocast runs in, whether a gradient scaler is needed, and why this dtype was chosen."""

    dtype: str
    device: str
    reason: str

    def __post_init__(self) -> None:
        require(
            self.dtype in DTYPES, f"Unknown training dtype {self.dtype!r}: use one of {', '.join(DTYPES)}."
        )

    @property
    def grad_scaler(self) -> bool:
        """fp16 gradients underflow without loss scaling; bf16 and fp32 need none."""
        return self.dtype == "float16"

    def autocast(self) -> Any:
        """A fresh autocast context for this dtype (a no-op context for fp32)."""
        if self.dtype == "float32":
            return nullcontext()
        import torch

        return torch.autocast(self.device, dtype=getattr(torch, self.dtype))

    def new_scaler(self) -> Any:
        """A fresh gradient scaler when this dtype needs one (fp16), else None."""
        if not self.grad_scaler:
            return None
        import torch

        return torch.amp.GradScaler(self.device)

    def __str__(self) -> str:
        scaler = " with a gradient scaler" if self.grad_scaler else ""
        return f"{self.dtype}{scaler} on {self.device} ({self.reason})"


def backward_step(loss: Any, optimizer: Any, scaler: Any) -> None:
    """Backward pass and optimizer step, loss-scaled through `scaler` when there is one (fp16)."""
    if scaler is None:
        loss.backward()
        optimizer.step()
        return
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()


def cuda_capability() -> tuple[int, int] | None:
    """Compute capability (major, minor) of the current CUDA GPU, None without one."""
    import torch

    return torch.cuda.get_device_capability() if torch.cuda.is_available() else None


def training_precision(
    device: str, mixed: bool = True, capability: tuple[int, int] | None = None, allow_fp16: bool = True
) -> Precision:
    """The autocast dtype for training on `device`: bf16 on capability ≥ 8.0, else fp16 (scaled) or fp32.

    `capability` defaults to the current GPU's; `allow_fp16=False` picks fp32 below 8.0 for training loops that
    have no gradient scaler. CPU training and `mixed=False` stay in fp32. `torch.cuda.is_bf16_supported()` is not
    asked: it is True on a T4 (7.5), which only emulates bf16, slower than fp16 or fp32.
    """
    require(device in ("cpu", "cuda"), f"Unknown device {device!r}: choose a precision for 'cpu' or 'cuda'.")
    if not mixed:
        return Precision("float32", device, "mixed precision switched off")
    if device == "cpu":
        return Precision("float32", device, "CPU training stays in fp32")
    capability = capability if capability is not None else cuda_capability()
    require(
        capability is not None, "device='cuda' but no CUDA GPU is visible; choose the precision for 'cpu'."
    )
    found = f"compute capability {capability[0]}.{capability[1]}"
    if tuple(capability) >= BF16_CAPABILITY:
        return Precision("bfloat16", device, f"{found} has bf16 tensor cores")
    if allow_fp16:
        return Precision("float16", device, f"{found} has no bf16 tensor cores; fp16 needs loss scaling")
    return Precision(
        "float32", device, f"{found} has no bf16 tensor cores and this loop has no gradient scaler"
    )
