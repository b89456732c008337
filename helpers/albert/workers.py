"""Independent training jobs spread over worker processes, one PyTorch thread each.

A tiny model cannot keep two cores busy with one matrix product at a time: splitting each product over threads
costs synchronisation, while two runs side by side each keep a core full. Workers are started with 'spawn' (safe
after PyTorch has started its thread pool, and inside Jupyter, since jobs are functions of importable modules).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from tqdm.auto import tqdm

from helpers.core.params import require

Job = TypeVar("Job")


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def map_jobs(
    fn: Callable[[Job], Any], jobs: Sequence[Job], workers: int = 1, desc: str = "jobs"
) -> list[Any]:
    """`[fn(job) for job in jobs]`, in order, on `workers` processes with one thread each (1: in this process)."""
    require(
        isinstance(workers, int) and workers >= 1, f"workers={workers!r} must be a whole number ≥ 1, e.g. 2."
    )
    bar = tqdm(total=len(jobs), desc=desc)
    if workers == 1:
        results = []
        for job in jobs:
            results.append(fn(job))
            bar.update()
        bar.close()
        return results
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_one_thread) as pool:
        futures = [pool.submit(fn, job) for job in jobs]
        for future in futures:
            future.add_done_callback(lambda _: bar.update())
        results = [future.result() for future in futures]
    bar.close()
    return results
