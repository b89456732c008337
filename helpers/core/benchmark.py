"""Benchmarking like an engineer: warm-up, GPU synchronisation, repeats, median and spread, ratios in one run."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm


@dataclass(frozen=True)
class Timing:
    """Repeated wall-clock times of one operation, in seconds."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        """Median time in seconds."""
        return statistics.median(self.times)

    @property
    def iqr(self) -> float:
        """Inter-quartile range in seconds (0 with fewer than two repeats)."""
        if len(self.times) < 2:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.times, n=4, method="inclusive")
        return q3 - q1

    @property
    def min(self) -> float:
        """Fastest repeat in seconds."""
        return min(self.times)

    def __str__(self) -> str:
        scale, unit = (1e3, "ms") if self.median < 1 else (1.0, "s")
        return f"{self.median * scale:.3g} {unit} (IQR {self.iqr * scale:.2g} {unit}, n={len(self.times)})"

    def to_dict(self) -> dict[str, Any]:
        """Median, IQR, min and repeats as a plain dict."""
        return {"median_s": self.median, "iqr_s": self.iqr, "min_s": self.min, "repeats": len(self.times)}


def synchronize() -> None:
    """Wait for queued GPU work of PyTorch and CuPy, if they are in use, so that timers see it finish."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        cupy.cuda.get_current_stream().synchronize()


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch.set_num_threads(threads) and restore the previous count (None: leave it)."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _timed(fn: Callable[[], Any]) -> float:
    synchronize()
    start = time.perf_counter()
    fn()
    synchronize()
    return time.perf_counter() - start


def measure(fn: Callable[[], Any], warmup: int = 1, repeats: int = 5, label: str | None = None) -> Timing:
    """Time `fn()` after `warmup` untimed calls, `repeats` times, synchronising GPUs around each call."""
    if warmup < 0 or repeats < 1:
        raise ValueError("measure() needs warmup ≥ 0 and repeats ≥ 1.")
    for _ in range(warmup):
        fn()
    bar = tqdm(range(repeats), desc=label, leave=False, disable=label is None)
    return Timing(tuple(_timed(fn) for _ in bar))


@dataclass(frozen=True)
class Comparison:
    """Two operations timed in one interleaved run; `speedup` is baseline median / candidate median."""

    baseline: Timing
    candidate: Timing

    @property
    def speedup(self) -> float:
        """How many times faster the candidate is than the baseline."""
        return self.baseline.median / self.candidate.median

    @property
    def round_speedups(self) -> tuple[float, ...]:
        """Baseline time / candidate time of each round: the two ran back to back, so drift cancels in each."""
        return tuple(b / c for b, c in zip(self.baseline.times, self.candidate.times, strict=True))


def compare(
    baseline: Callable[[], Any], candidate: Callable[[], Any], warmup: int = 1, repeats: int = 5
) -> Comparison:
    """Time two callables alternately (ABAB…, order flipped every round) so drift hits both alike."""
    for _ in range(warmup):
        baseline()
        candidate()
    base_times: list[float] = []
    cand_times: list[float] = []
    for round_ in range(repeats):
        pair = [(baseline, base_times), (candidate, cand_times)]
        for fn, sink in pair if round_ % 2 == 0 else reversed(pair):
            sink.append(_timed(fn))
    return Comparison(Timing(tuple(base_times)), Timing(tuple(cand_times)))


def _repeated(fn: Callable[[], Any], calls: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(calls):
            fn()

    return run


def _calls_for(fn: Callable[[], Any], seconds: float, rounds: int) -> int:
    """How many calls of `fn` make one of `rounds` samples last about seconds / rounds (at least one)."""
    once = measure(fn, warmup=1, repeats=3).median
    return max(1, round(seconds / rounds / max(once, 1e-9)))


def compare_for(
    baseline: Callable[[], Any], candidate: Callable[[], Any], seconds: float, rounds: int
) -> tuple[Comparison, int]:
    """compare() over `rounds` rounds, each sample repeating its call enough times (the same for both, returned)
    that the baseline's sample lasts about seconds / rounds: fast calls are timed over many repetitions."""
    calls = _calls_for(baseline, seconds, rounds)
    candidate()  # a first call that compiles or allocates is not timed
    return compare(_repeated(baseline, calls), _repeated(candidate, calls), warmup=1, repeats=rounds), calls


def measure_for(fn: Callable[[], Any], seconds: float, rounds: int) -> float:
    """Median seconds of one call of `fn`, over `rounds` samples of repeated calls lasting seconds in all."""
    calls = _calls_for(fn, seconds, rounds)
    return measure(_repeated(fn, calls), warmup=1, repeats=rounds).median / calls


def torch_latency(model: Any, example: Any, min_run_time: float = 0.5, threads: int | None = None) -> Timing:
    """Inference latency of `model(example)` with torch.utils.benchmark (adaptive repeats, CUDA-synchronised)."""
    import torch
    from torch.utils import benchmark

    timer = benchmark.Timer(
        stmt="model(example)",
        globals={"model": model, "example": example},
        num_threads=threads or torch.get_num_threads(),
    )
    with torch.inference_mode():
        model(example)
        measurement = timer.blocked_autorange(min_run_time=min_run_time)
    return Timing(tuple(measurement.times))
