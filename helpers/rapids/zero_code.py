"""The zero-code modes: one launcher for `python -m cudf.pandas` / `python -m cuml.accel` scripts, and their signals.

"Accelerated" is read from each library's own signals, never from `"cudf" in sys.modules` (the launcher imports
cuDF whether or not it then accelerates anything): `cudf.pandas.LOADED` plus a pandas frame that is a proxy, and
`cuml.accel.enabled()`. How much ran on the GPU comes from the libraries' profilers: `cudf.pandas.Profiler`
(per function: GPU and CPU call times) and `cuml.accel.profile` (per method: GPU and CPU calls, times, fallback
reasons). The readers below turn those structures into one `Activity`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from helpers.rapids.release import ROOT

ACCELERATORS = ("cudf.pandas", "cuml.accel")
# Variables of the notebook's process a launched script must not inherit: the run folder of the notebook's own
# results, and the marker dask-cuda's LocalCUDACluster leaves behind (it tells cudf.pandas to skip its memory pool).
NOT_INHERITED = ("FSL_OUT_DIR", "RAPIDS_NO_INITIALIZE")


@dataclass(frozen=True)
class Activity:
    """What an accelerator reports it ran: calls and seconds on the GPU and on the CPU, and what fell back."""

    accelerator: str | None
    active: bool
    gpu_calls: int = 0
    cpu_calls: int = 0
    gpu_s: float = 0.0
    cpu_s: float = 0.0
    fallbacks: tuple[str, ...] = ()  # functions or methods that ran on the CPU at least once

    @property
    def gpu_call_share(self) -> float | None:
        """Share of the profiled calls that ran on the GPU (None when nothing was profiled)."""
        calls = self.gpu_calls + self.cpu_calls
        return self.gpu_calls / calls if calls else None

    @property
    def gpu_time_share(self) -> float | None:
        """Share of the profiled seconds spent in calls that ran on the GPU (None when nothing was profiled)."""
        seconds = self.gpu_s + self.cpu_s
        return self.gpu_s / seconds if seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """The activity and its shares as plain values (for a JSON report)."""
        return {**asdict(self), "gpu_call_share": self.gpu_call_share, "gpu_time_share": self.gpu_time_share}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Activity:
        """Rebuild an Activity written by `to_dict`."""
        names = cls.__dataclass_fields__
        return cls(**{k: tuple(v) if k == "fallbacks" else v for k, v in data.items() if k in names})


def cudf_pandas_activity(
    per_function_stats: Mapping[str, Mapping[str, list[float]]], active: bool
) -> Activity:
    """Read `cudf.pandas.Profiler().per_function_stats`: function → {'gpu': [seconds…], 'cpu': [seconds…]}."""
    gpu = [t for stats in per_function_stats.values() for t in stats.get("gpu", [])]
    cpu = [t for stats in per_function_stats.values() for t in stats.get("cpu", [])]
    fallbacks = tuple(sorted(name for name, stats in per_function_stats.items() if stats.get("cpu")))
    return Activity("cudf.pandas", active, len(gpu), len(cpu), float(sum(gpu)), float(sum(cpu)), fallbacks)


def cuml_accel_activity(method_calls: Mapping[str, Any], active: bool) -> Activity:
    """Read `cuml.accel.profile(...).method_calls`: method → stats with gpu_calls, gpu_time, cpu_calls, cpu_time."""
    stats = list(method_calls.values())
    fallbacks = tuple(sorted(name for name, s in method_calls.items() if s.cpu_calls))
    return Activity(
        "cuml.accel",
        active,
        sum(s.gpu_calls for s in stats),
        sum(s.cpu_calls for s in stats),
        float(sum(s.gpu_time for s in stats)),
        float(sum(s.cpu_time for s in stats)),
        fallbacks,
    )


def is_active(accelerator: str | None) -> bool:
    """Whether `accelerator` reports itself active in this process (never imports it when it is not loaded)."""
    if accelerator == "cudf.pandas" and "cudf.pandas" in sys.modules:
        import cudf.pandas
        import pandas

        return bool(cudf.pandas.LOADED) and cudf.pandas.is_proxy_object(pandas.DataFrame({"a": [1]}))
    if accelerator == "cuml.accel" and "cuml.accel" in sys.modules:
        import cuml.accel

        return bool(cuml.accel.enabled())
    return False


@contextlib.contextmanager
def profiled(accelerator: str | None) -> Iterator[Callable[[], Activity]]:
    """Profile the block with the accelerator's own profiler; yields a function giving the Activity afterwards."""
    active = is_active(accelerator)
    if not active:
        yield lambda: Activity(accelerator, False)
    elif accelerator == "cudf.pandas":
        from cudf.pandas import Profiler

        profiler = Profiler()
        with profiler:
            yield lambda: cudf_pandas_activity(
                {name: dict(calls) for name, calls in profiler.per_function_stats.items()}, True
            )
    else:
        import cuml.accel

        with cuml.accel.profile(quiet=True) as results:
            yield lambda: cuml_accel_activity(results.method_calls, True)


def launch(
    script: Path, args: dict[str, Any], report: Path, accelerator: str | None, timeout_s: float
) -> dict:
    """Run `script '<args as JSON>'` in a fresh Python (under `python -m <accelerator>` when given, without the
    variables of NOT_INHERITED) and return the JSON report it writes to `report`; RuntimeError with the end of its
    stderr when it fails."""
    if accelerator not in (None, *ACCELERATORS):
        raise ValueError(f"Unknown accelerator {accelerator!r}; use None, 'cudf.pandas' or 'cuml.accel'.")
    launcher = [sys.executable] + (["-m", accelerator] if accelerator else [])
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    command = [*launcher, str(script), json.dumps({**args, "report": str(report)})]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(launcher)} {script.name} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(report.read_text())


def total_activity(activities: list[dict[str, Any]]) -> dict[str, Any]:
    """Several activities (as `to_dict` wrote them) summed into one, as a dict; active when all were active."""
    parts = [Activity.from_dict(a) for a in activities]
    if not parts:
        return Activity(None, False).to_dict()
    return Activity(
        parts[0].accelerator,
        all(p.active for p in parts),
        sum(p.gpu_calls for p in parts),
        sum(p.cpu_calls for p in parts),
        sum(p.gpu_s for p in parts),
        sum(p.cpu_s for p in parts),
        tuple(sorted({f for p in parts for f in p.fallbacks})),
    ).to_dict()


def describe(activity: Mapping[str, Any]) -> str:
    """An activity (as `to_dict` wrote it) in words: calls on the GPU out of those profiled, and the fallbacks."""
    calls = activity["gpu_calls"] + activity["cpu_calls"]
    if not calls:
        return f"{activity['accelerator']} profiled no calls"
    fallbacks = ", ".join(activity["fallbacks"]) or "none"
    return (
        f"{activity['accelerator']} ran {activity['gpu_calls']} of {calls} profiled calls on the GPU "
        f"({activity['gpu_call_share']:.0%}; CPU fallbacks: {fallbacks})"
    )
