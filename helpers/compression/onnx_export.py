"""Edge export: a PyTorch model to ONNX (torch.export-based exporter), run and timed with ONNX Runtime on CPU."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from helpers.core.benchmark import Comparison, compare
from helpers.core.environment import int8_dot_product_instructions
from helpers.core.params import require

FLOAT_TOLERANCE = 1e-4  # of the largest |logit|: round-off between two fp32 runtimes
INT8_TOLERANCE = 1e-2  # of the largest |logit|: a few int8 steps where the runtimes requantize differently


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    """Export `model` (eval mode, CPU) with a dynamic batch axis to one self-contained .onnx file at `path`."""
    require(example.dim() >= 2, "The ONNX example input needs a batch axis first, e.g. shape (1, C, H, W).")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()  # not chained: an exported graph's eval() (allow_exported_model_train_eval) returns None
    model = model.cpu()
    batch = torch.export.Dim("batch", min=1, max=4096)
    quiet = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        torch.onnx.export(
            model,
            (example.cpu(),),
            str(path),
            dynamo=True,
            external_data=False,
            input_names=["input"],
            output_names=["logits"],
            dynamic_shapes=({0: batch},),
            verbose=False,
        )
    return path


def ort_session(path: Path, threads: int | None = None):
    """An ONNX Runtime CPU inference session with `threads` intra-op threads (default: PyTorch's thread count)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def ort_run(session, inputs: torch.Tensor) -> np.ndarray:
    """Outputs of the session's first output for a CPU tensor of inputs."""
    name = session.get_inputs()[0].name
    return session.run(None, {name: inputs.detach().cpu().numpy()})[0]


def _logits(model: torch.nn.Module, inputs: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        model.eval()
        return model.cpu()(inputs.cpu()).numpy()


def max_abs_diff(model: torch.nn.Module, session, inputs: torch.Tensor) -> float:
    """Largest absolute difference between PyTorch and ONNX Runtime outputs on the same inputs."""
    return float(np.max(np.abs(_logits(model, inputs) - ort_run(session, inputs))))


def top1_agreement(model: torch.nn.Module, session, inputs: torch.Tensor) -> float:
    """Fraction of inputs whose predicted class is the same in PyTorch and in ONNX Runtime."""
    return float(np.mean(_logits(model, inputs).argmax(axis=1) == ort_run(session, inputs).argmax(axis=1)))


@dataclass(frozen=True)
class Parity:
    """ONNX Runtime against PyTorch on the same inputs: the largest logit difference, the tolerance it must stay
    within, the share of predicted classes that agree, and the CPU's int8 dot-product instructions."""

    max_abs_diff: float
    tolerance: float
    top1_agreement: float
    int8: bool
    int8_instructions: tuple[str, ...]

    @property
    def matches(self) -> bool:
        """True when every logit is within the tolerance: the exported graph computes the measured model."""
        return self.max_abs_diff <= self.tolerance

    def sentence(self) -> str:
        """One sentence: how closely the outputs match, or that they do not, what may cause it, and what is skipped."""
        measured = (
            f"max |ONNX Runtime − PyTorch| = {self.max_abs_diff:.2g} (tolerance {self.tolerance:.2g}), "
            f"{self.top1_agreement:.1%} of predicted classes agree"
        )
        if self.matches:
            return f"ONNX Runtime computes the same model: {measured}."
        cause = ""
        if self.int8 and not self.int8_instructions:
            cause = (
                "; this CPU has no VNNI or AMX int8 instructions, where ONNX Runtime's u8×s8 kernels can saturate "
                "their 16-bit intermediate sums (a 7-bit weight range, `reduce_range`, avoids it)"
            )
        return (
            f"ONNX Runtime's outputs do not match PyTorch's ({measured}), so the ONNX timings are skipped: a graph "
            f"that computes something else is not a faster copy of this model{cause}."
        )


def check_parity(
    model: torch.nn.Module,
    session,
    inputs: torch.Tensor,
    int8: bool,
    int8_instructions: list[str] | None = None,
) -> Parity:
    """Compare the session with `model` on `inputs`; the tolerance is FLOAT_TOLERANCE (round-off) or INT8_TOLERANCE
    (ONNX Runtime requantizes between int8 layers where PyTorch's reference graph computes in fp32) of the largest
    |logit|, at least of 1; int8_instructions default to this CPU's."""
    reference, exported = _logits(model, inputs), ort_run(session, inputs)
    scale = max(1.0, float(np.max(np.abs(reference))))
    return Parity(
        max_abs_diff=float(np.max(np.abs(reference - exported))),
        tolerance=(INT8_TOLERANCE if int8 else FLOAT_TOLERANCE) * scale,
        top1_agreement=float(np.mean(reference.argmax(axis=1) == exported.argmax(axis=1))),
        int8=int8,
        int8_instructions=tuple(
            int8_dot_product_instructions() if int8_instructions is None else int8_instructions
        ),
    )


def torch_runner(model: torch.nn.Module, example: torch.Tensor, inner: int) -> Callable[[], None]:
    """A callable running `inner` PyTorch inferences of `example` on the CPU (for timing)."""
    model.eval()
    model, example = model.cpu(), example.cpu()

    def run() -> None:
        with torch.inference_mode():
            for _ in range(inner):
                model(example)

    return run


def onnx_runner(session, example: torch.Tensor, inner: int) -> Callable[[], None]:
    """A callable running `inner` ONNX Runtime inferences of `example` (for timing)."""
    feed = {session.get_inputs()[0].name: example.detach().cpu().numpy()}

    def run() -> None:
        for _ in range(inner):
            session.run(None, feed)

    return run


@dataclass(frozen=True)
class PairTiming(Comparison):
    """Two runners of `inner` inferences each, timed alternately in one run; per-inference medians in ms."""

    inner: int = 1

    @property
    def reference_ms(self) -> float:
        """Median latency per inference of the reference, ms."""
        return 1e3 * self.baseline.median / self.inner

    @property
    def candidate_ms(self) -> float:
        """Median latency per inference of the candidate, ms."""
        return 1e3 * self.candidate.median / self.inner

    @property
    def candidate_iqr_ms(self) -> float:
        """Inter-quartile range of the candidate's latency per inference, ms."""
        return 1e3 * self.candidate.iqr / self.inner


def time_pair(
    reference: Callable[[], None], candidate: Callable[[], None], inner: int, repeats: int
) -> PairTiming:
    """Time two runners of `inner` inferences each alternately (helpers.core.benchmark.compare), after a warm-up."""
    require(inner >= 1 and repeats >= 1, "time_pair needs inner ≥ 1 and repeats ≥ 1.")
    timed = compare(reference, candidate, warmup=2, repeats=repeats)
    return PairTiming(timed.baseline, timed.candidate, inner)
