"""The objective (a random forest on the airline data, scored by holdout accuracy), its trials, sweeps and tracking."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.datasets.airline import FEATURES, TARGET, read_airline

if TYPE_CHECKING:
    import pandas as pd

    from helpers.hpo.tracking import Tracker

# Heavy libraries are imported inside functions, so Spark workers unpickling `Objective` import little.


@dataclass
class TrialResult:
    """One evaluation: its hyperparameters, holdout accuracy (None when it failed), wall-clock span and error."""

    strategy: str
    params: dict[str, Any]
    accuracy: float | None
    start: float  # seconds since the epoch (comparable across the processes of one machine)
    end: float
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the trial produced an accuracy."""
        return self.accuracy is not None

    @property
    def duration_s(self) -> float:
        """Seconds the trial took."""
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """The result as a plain dict (it travels back from Spark workers this way)."""
        return asdict(self)


@functools.lru_cache(maxsize=2)
def load_split(data_path: str, backend: str, test_fraction: float, seed: int) -> tuple[Any, Any, Any, Any]:
    """Features (float32) and target of the airline file, split into train and holdout; cached per process."""
    from helpers.core.backend import get_backend

    b = get_backend(backend)
    frame = read_airline(data_path, [*FEATURES, TARGET], b.df)
    x, y = frame[FEATURES].astype("float32"), frame[TARGET].astype("int32")
    return tuple(b.train_test_split(x, y, test_size=test_fraction, random_state=seed))


@dataclass(frozen=True)
class FailureInjector:
    """Makes the first `count` trials of each strategy fail on purpose, across threads and processes of one machine."""

    directory: str
    count: int

    def should_fail(self, strategy: str) -> bool:
        """Claim one of the strategy's `count` failure tokens (atomic file creation); False once all are taken."""
        for index in range(self.count):
            try:
                os.close(
                    os.open(
                        Path(self.directory) / f"{strategy}-{index}", os.O_CREAT | os.O_EXCL | os.O_WRONLY
                    )
                )
            except FileExistsError:
                continue
            return True
        return False


class InjectedFailure(RuntimeError):
    """A trial failure caused on purpose by `FailureInjector`."""


@dataclass(frozen=True)
class Objective:
    """Fit a random forest with given hyperparameters and score holdout accuracy; picklable for Spark workers."""

    data_path: str
    backend: str = "cpu"
    test_fraction: float = 0.25
    seed: int = 0
    n_jobs: int = -1
    failures: FailureInjector | None = None

    def fit(self, params: dict[str, Any]) -> tuple[Any, float]:
        """The fitted forest and its holdout accuracy."""
        from helpers.core.backend import get_backend

        b = get_backend(self.backend)
        x_train, x_test, y_train, y_test = load_split(
            self.data_path, self.backend, self.test_fraction, self.seed
        )
        extra = {"n_jobs": self.n_jobs} if self.backend == "cpu" else {}
        model = b.RandomForestClassifier(**params, random_state=self.seed, **extra)
        model.fit(x_train, y_train)
        return model, float(b.accuracy_score(y_test, model.predict(x_test)))

    def __call__(self, params: dict[str, Any], strategy: str) -> TrialResult:
        """Evaluate once; an exception becomes a failed TrialResult carrying the error, so the sweep goes on."""
        start = time.time()
        try:
            if self.failures is not None and self.failures.should_fail(strategy):
                raise InjectedFailure("deliberate failure injected to test failure handling (fail_trials)")
            _, accuracy = self.fit(params)
        except Exception as error:
            return TrialResult(strategy, params, None, start, time.time(), f"{type(error).__name__}: {error}")
        return TrialResult(strategy, params, accuracy, start, time.time())


@dataclass
class Sweep:
    """All trials of one strategy, in order of completion, with the sweep's wall-clock span."""

    strategy: str
    budget: int
    start: float
    end: float = 0.0
    trials: list[TrialResult] = field(default_factory=list)
    spark_trials: int = 0

    @property
    def wall_s(self) -> float:
        """Seconds from the sweep's start to its end."""
        return self.end - self.start

    @property
    def evaluations(self) -> int:
        """Trials run, failed ones included."""
        return len(self.trials)

    @property
    def failed(self) -> int:
        """Trials that produced no accuracy."""
        return sum(not t.ok for t in self.trials)

    @property
    def best(self) -> TrialResult | None:
        """The most accurate trial (the earliest on ties), None when every trial failed."""
        ok = [t for t in self.trials if t.ok]
        return max(ok, key=lambda t: t.accuracy) if ok else None

    def curve(self) -> pd.DataFrame:
        """Per completed trial: evaluation number, seconds since the sweep began, accuracy and best so far."""
        import pandas as pd

        rows = sorted(self.trials, key=lambda t: t.end)
        frame = pd.DataFrame(
            {
                "evaluation": range(1, len(rows) + 1),
                "elapsed_s": [t.end - self.start for t in rows],
                "accuracy": [t.accuracy if t.ok else np.nan for t in rows],
            }
        )
        frame["best_so_far"] = frame["accuracy"].cummax().ffill()
        return frame

    def metrics(self) -> dict[str, float]:
        """The sweep's numbers as plain values for its parent run."""
        best = {} if self.best is None else {"best_accuracy": self.best.accuracy}
        return {
            "evaluations": self.evaluations,
            "failed": self.failed,
            "wall_s": self.wall_s,
            "spark_trials": self.spark_trials,
        } | best

    def reached(self, target: float | None) -> bool:
        """True when some trial's accuracy is at least `target` (never for no target)."""
        return target is not None and any(t.ok and t.accuracy >= target for t in self.trials)

    def reach(self, target: float) -> tuple[int | None, float | None]:
        """Evaluations and seconds until the best-so-far accuracy first reached `target` (None, None if never)."""
        curve = self.curve()
        hit = curve[curve["best_so_far"] >= target]
        if hit.empty:
            return None, None
        return int(hit["evaluation"].iloc[0]), float(hit["elapsed_s"].iloc[0])


@contextmanager
def _parent(tracker: Tracker | None, strategy: str, budget: int, **params: Any) -> Iterator[str | None]:
    """The sweep's parent run (None when untracked)."""
    if tracker is None:
        yield None
        return
    with tracker.sweep_run(strategy, budget, **params) as run_id:
        yield run_id


def _log_trial(tracker: Tracker, parent: str, name: str, result: TrialResult) -> None:
    """Write a trial that ran elsewhere (a Spark worker) as a nested run with its own start and end times."""
    with tracker.trial_run(parent, name, result.strategy, result.params, result.start) as run_id:
        tracker.finish_trial(run_id, result.accuracy, result.duration_s, result.end, result.error)


def evaluate(
    tracker: Tracker | None,
    parent: str | None,
    name: str,
    objective: Objective,
    params: dict[str, Any],
    strategy: str,
) -> TrialResult:
    """Evaluate once, as a nested run FINISHED or FAILED when tracked; an interrupt marks the run FAILED."""
    if tracker is None or parent is None:
        return objective(params, strategy)
    with tracker.trial_run(parent, name, strategy, params) as run_id:
        result = objective(params, strategy)
        tracker.finish_trial(run_id, result.accuracy, result.duration_s, result.end, result.error)
    return result


def _track(tracker: Tracker | None, parent: str | None, sweep: Sweep, run: Callable[[], None]) -> Sweep:
    try:
        run()
    finally:
        sweep.end = time.time()
        if tracker is not None and parent is not None:
            tracker.log_metrics(parent, sweep.metrics())
    return sweep
