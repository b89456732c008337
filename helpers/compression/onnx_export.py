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
from helpers.core.params import require


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


def max_abs_diff(model: torch.nn.Module, session, inputs: torch.Tensor) -> float:
    """Largest absolute difference between PyTorch and ONNX Runtime outputs on the same inputs."""
    with torch.inference_mode():
        model.eval()
        reference = model.cpu()(inputs.cpu()).numpy()
    return float(np.max(np.abs(reference - ort_run(session, inputs))))


def top1_agreement(model: torch.nn.Module, session, inputs: torch.Tensor) -> float:
    """Fraction of inputs whose predicted class is the same in PyTorch and in ONNX Runtime."""
    with torch.inference_mode():
        model.eval()
        reference = model.cpu()(inputs.cpu()).argmax(dim=1).numpy()
    return float(np.mean(reference == ort_run(session, inputs).argmax(axis=1)))


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
