"""Hyperparameter search on an equal budget: grid, random, Hyperopt TPE and Optuna TPE, on one execution backend.

The objective is the talk's: a random forest on the airline data, scored by holdout accuracy, through the helpers
backend (scikit-learn on CPU, cuML on GPU). Every strategy gets the same number of evaluations; each trial can become
a nested MLflow run through a `helpers.hpo.tracking.Tracker`, which logs the plain values this module hands it.
`compare_strategies` runs the strategies untracked on a growing space and counts evaluations and seconds to a target.
Heavy libraries are imported inside functions so that Spark workers, which unpickle `Objective` and
`HyperoptObjective`, import little.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.datasets.airline import FEATURES, TARGET, read_airline

if TYPE_CHECKING:
    import pandas as pd

    from helpers.hpo.tracking import Tracker

STRATEGIES = ("grid", "random", "hyperopt", "optuna")
KINDS = ("int", "float", "log_int", "step")


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter: uniform integers, uniform floats, log-uniform integers, or integers in steps."""

    name: str
    low: float
    high: float
    kind: str = "float"
    step: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"Dimension {self.name!r} has kind {self.kind!r}; use one of {', '.join(KINDS)}."
            )
        if not self.low < self.high or (self.kind == "log_int" and self.low < 1):
            raise ValueError(
                f"Dimension {self.name!r} range ({self.low}, {self.high}) must have low < high "
                "(and low ≥ 1 for a log scale)."
            )
        if self.kind == "step" and (self.step <= 0 or (self.high - self.low) % self.step):
            raise ValueError(
                f"Dimension {self.name!r} ({self.low}, {self.high}, {self.step}) must have a step dividing high-low."
            )

    @property
    def values(self) -> list[int] | None:
        """Every allowed value of a discrete dimension (None for a float one)."""
        if self.kind == "float":
            return None
        return list(range(int(self.low), int(self.high) + 1, self.step if self.kind == "step" else 1))

    def levels(self, k: int) -> list[Any]:
        """`k` grid levels spread evenly over the range (on the log scale for log_int); one level sits mid-range."""
        if self.kind == "step":
            values = self.values
            return [values[int(round(i))] for i in _spread(0, len(values) - 1, k)]
        if self.kind == "log_int":
            return sorted(
                {int(round(math.exp(v))) for v in _spread(math.log(self.low), math.log(self.high), k)}
            )
        if self.kind == "int":
            return sorted({int(round(v)) for v in _spread(self.low, self.high, k)})
        return [round(float(v), 3) for v in _spread(self.low, self.high, k)]

    def max_levels(self, limit: int) -> int:
        """The most distinct grid levels this dimension offers, up to `limit`."""
        return max(k for k in range(1, limit + 1) if len(self.levels(k)) == k)

    def distribution(self) -> Any:
        """What scikit-learn's ParameterSampler draws from: a scipy distribution or the list of values."""
        from scipy.stats import loguniform, randint, uniform

        if self.kind == "float":
            return uniform(self.low, self.high - self.low)
        if self.kind == "log_int":
            return loguniform(self.low, self.high)
        if self.kind == "int":
            return randint(int(self.low), int(self.high) + 1)
        return self.values

    def hyperopt(self) -> Any:
        """The dimension as a Hyperopt expression (`quniform` for steps, as in the talk's notebook)."""
        from hyperopt import hp

        if self.kind == "float":
            return hp.uniform(self.name, self.low, self.high)
        if self.kind == "log_int":
            return hp.qloguniform(self.name, math.log(self.low), math.log(self.high), 1)
        if self.kind == "int":
            return hp.uniformint(self.name, self.low, self.high)
        return hp.quniform(self.name, self.low, self.high, self.step)

    def suggest(self, trial: Any) -> Any:
        """Draw the dimension with an Optuna trial."""
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high)
        if self.kind == "log_int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=True)
        return trial.suggest_int(self.name, int(self.low), int(self.high), step=self.step)

    def normalise(self, value: Any) -> Any:
        """The value as the forest takes it: a float, or an integer clipped into the range."""
        if self.kind == "float":
            return float(value)
        return int(min(max(round(float(value)), self.low), self.high))

    def contains(self, value: Any) -> bool:
        """True when `value` is an allowed value of this dimension."""
        if self.kind == "float":
            return self.low <= value <= self.high
        return (
            value in self.values
            if self.kind == "step"
            else self.low <= value <= self.high and value == int(value)
        )

    def describe(self) -> str:
        """The range in words, for tables."""
        low, high = f"{self.low:g}", f"{self.high:g}"
        return {
            "float": f"uniform {low}–{high}",
            "int": f"integer {low}–{high}",
            "log_int": f"log-uniform integer {low}–{high}",
            "step": f"{low}–{high} in steps of {self.step}",
        }[self.kind]


def _spread(lo: float, hi: float, k: int) -> np.ndarray:
    return np.array([(lo + hi) / 2]) if k == 1 else np.linspace(lo, hi, k)


LADDER = ("max_depth", "max_features", "n_estimators", "min_samples_leaf", "max_samples")


@dataclass(frozen=True)
class SearchSpace:
    """Hyperparameters searched (`dimensions`) and the ones held fixed (`fixed`, name-value pairs)."""

    dimensions: tuple[Dimension, ...]
    fixed: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def ladder(cls, max_trees: int, n_params: int) -> SearchSpace:
        """The first `n_params` of depth, feature fraction, trees, minimum leaf size and row fraction.

        With 3 it is the talk's space (depth 5–15, features 0.1–1.0, trees from max_trees/5 to max_trees in steps of
        max_trees/5); with 2 the forest size is fixed mid-range; 4 adds `min_samples_leaf` 1–64 (log), 5 adds the
        bootstrap row fraction `max_samples` 0.1–1.0.
        """
        if max_trees < 5 or max_trees % 5:
            raise ValueError(f"max_trees={max_trees} must be a positive multiple of 5 (the talk uses 500).")
        if not 2 <= n_params <= len(LADDER):
            raise ValueError(f"A ladder space has 2 to {len(LADDER)} hyperparameters, not {n_params}.")
        step = max_trees // 5
        every = {
            "max_depth": Dimension("max_depth", 5, 15, "int"),
            "max_features": Dimension("max_features", 0.1, 1.0),
            "n_estimators": Dimension("n_estimators", step, max_trees, "step", step),
            "min_samples_leaf": Dimension("min_samples_leaf", 1, 64, "log_int"),
            "max_samples": Dimension("max_samples", 0.1, 1.0),
        }
        fixed = () if n_params >= 3 else (("n_estimators", 3 * step),)
        return cls(tuple(every[name] for name in LADDER[:n_params]), fixed)

    @classmethod
    def talk(cls, max_trees: int = 500) -> SearchSpace:
        """The talk's three-hyperparameter space with the forest size scaled to `max_trees`."""
        return cls.ladder(max_trees, 3)

    @property
    def names(self) -> list[str]:
        """The searched hyperparameters, in order."""
        return [d.name for d in self.dimensions]

    def describe(self) -> dict[str, str]:
        """Each hyperparameter's range (or fixed value) in words, for tables."""
        return {d.name: d.describe() for d in self.dimensions} | {k: f"fixed at {v}" for k, v in self.fixed}

    def normalise(self, params: dict[str, Any]) -> dict[str, Any]:
        """Hyperparameters as the forest takes them (integers rounded, floats as floats), fixed ones added."""
        return {d.name: d.normalise(params[d.name]) for d in self.dimensions} | dict(self.fixed)

    def contains(self, params: dict[str, Any]) -> bool:
        """True when `params` lie inside the space."""
        return all(d.contains(params[d.name]) for d in self.dimensions) and all(
            params.get(k) == v for k, v in self.fixed
        )

    def grid_shape(self, budget: int) -> tuple[int, ...]:
        """Levels per hyperparameter whose product is exactly `budget`, as balanced as possible (earlier first)."""
        if budget < 1:
            raise ValueError(f"A grid needs a budget of at least 1 evaluation, got {budget}.")
        limits = [d.max_levels(budget) for d in self.dimensions]

        def shapes(left: int, index: int) -> Iterator[tuple[int, ...]]:
            if index == len(limits):
                yield from [()] if left == 1 else []
                return
            for k in range(1, min(left, limits[index]) + 1):
                if left % k == 0:
                    yield from ((k, *rest) for rest in shapes(left // k, index + 1))

        found = list(shapes(budget, 0))
        if not found:
            raise ValueError(
                f"No grid of exactly {budget} distinct points fits this space; choose another budget."
            )
        return min(found, key=lambda s: (max(s) - min(s), tuple(-k for k in s)))

    def grid_of(self, shape: tuple[int, ...]) -> list[dict[str, Any]]:
        """The full grid with `shape[i]` evenly spread levels of hyperparameter i (last one varies fastest)."""
        levels = [d.levels(k) for d, k in zip(self.dimensions, shape, strict=True)]
        return [
            self.normalise(dict(zip(self.names, point, strict=True))) for point in itertools.product(*levels)
        ]

    def grid(self, budget: int) -> list[dict[str, Any]]:
        """Exactly `budget` grid points, evenly spaced per hyperparameter (a single level sits mid-range)."""
        return self.grid_of(self.grid_shape(budget))

    def random(self, budget: int, seed: int) -> list[dict[str, Any]]:
        """`budget` points drawn uniformly from the space with scikit-learn's ParameterSampler."""
        from sklearn.model_selection import ParameterSampler

        distributions = {d.name: d.distribution() for d in self.dimensions}
        return [self.normalise(p) for p in ParameterSampler(distributions, budget, random_state=seed)]

    def hyperopt(self) -> dict[str, Any]:
        """The space in Hyperopt's terms."""
        return {d.name: d.hyperopt() for d in self.dimensions}

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Draw one point with an Optuna trial."""
        return {d.name: d.suggest(trial) for d in self.dimensions}


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


def run_sequential(
    strategy: str,
    candidates: Sequence[dict[str, Any]],
    objective: Objective,
    tracker: Tracker | None,
    stop_at: float | None = None,
    progress: bool = True,
) -> Sweep:
    """Evaluate precomputed candidates one after another (grid and random search; the budget is their number),
    each as a nested run when tracked; with `stop_at`, stop once an accuracy reaches it; `progress` shows a bar."""
    from tqdm.auto import tqdm

    with _parent(tracker, strategy, len(candidates)) as parent:
        sweep = Sweep(strategy, len(candidates), time.time())

        def run() -> None:
            bar = tqdm(candidates, desc=strategy, leave=False, disable=not progress)
            with bar:  # closed (and cleared) on an early stop
                for index, params in enumerate(bar):
                    sweep.trials.append(
                        evaluate(tracker, parent, f"{strategy}-{index:03d}", objective, params, strategy)
                    )
                    if sweep.reached(stop_at):
                        break

        return _track(tracker, parent, sweep, run)


class TrialFailed(RuntimeError):
    """Raised inside an Optuna objective so that Optuna records the trial as failed and carries on."""


@dataclass(frozen=True)
class TpeSettings:
    """What Hyperopt's and Optuna's Tree-structured Parzen Estimators are given alike: a seed, and how many
    random trials come before the model of good and bad trials takes over."""

    seed: int
    startup: int


def run_optuna(
    space: SearchSpace,
    budget: int,
    objective: Objective,
    tracker: Tracker | None,
    tpe: TpeSettings,
    stop_at: float | None = None,
    progress: bool = True,
) -> Sweep:
    """Optuna's TPE sampler; failed trials are marked FAIL and skipped; with `stop_at`, the study stops once an
    accuracy reaches it."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(n_startup_trials=tpe.startup, seed=tpe.seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    with _parent(tracker, "optuna", budget) as parent:
        sweep = Sweep("optuna", budget, time.time())

        def trial_value(trial: Any) -> float:
            params = space.normalise(space.suggest(trial))
            result = evaluate(tracker, parent, f"optuna-{trial.number:03d}", objective, params, "optuna")
            sweep.trials.append(result)
            if not result.ok:
                raise TrialFailed(result.error)
            return result.accuracy

        def stop(study: Any, _trial: Any) -> None:
            if sweep.reached(stop_at):
                study.stop()

        return _track(
            tracker,
            parent,
            sweep,
            lambda: study.optimize(
                trial_value,
                n_trials=budget,
                catch=(TrialFailed,),
                callbacks=[stop],
                show_progress_bar=progress,
            ),
        )


@dataclass(frozen=True)
class HyperoptObjective:
    """Hyperopt's view of the objective (loss = −accuracy); picklable, so SparkTrials can ship it to workers."""

    objective: Objective
    space: SearchSpace
    strategy: str = "hyperopt"

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Evaluate one Hyperopt sample and return Hyperopt's result dict with the TrialResult inside."""
        from hyperopt import STATUS_FAIL, STATUS_OK

        result = self.objective(self.space.normalise(sample), self.strategy)
        if not result.ok:
            return {"status": STATUS_FAIL, "trial": result.to_dict()}
        return {"status": STATUS_OK, "loss": -result.accuracy, "trial": result.to_dict()}


def _epoch(moment: dt.datetime | None, default: float) -> float:
    if moment is None:
        return default
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def hyperopt_results(trials: Any, space: SearchSpace, strategy: str = "hyperopt") -> list[TrialResult]:
    """TrialResults from Hyperopt trial documents; a crashed, cancelled or unfinished trial becomes a failed one."""
    results = []
    for doc in trials.trials:
        carried = (doc.get("result") or {}).get("trial")
        if carried is not None:
            results.append(TrialResult(**carried))
            continue
        sample = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
        params = space.normalise(sample) if set(sample) == set(space.names) else sample
        error = doc["misc"].get("error") or ("interrupted", "the trial did not finish")
        now = time.time()
        start = _epoch(doc.get("book_time"), now)
        end = _epoch(doc.get("refresh_time"), now)
        results.append(TrialResult(strategy, params, None, start, end, f"{error[0]}: {str(error[1])[-300:]}"))
    return results


def run_hyperopt(
    space: SearchSpace,
    budget: int,
    objective: Objective,
    tracker: Tracker | None,
    tpe: TpeSettings,
    spark: Any = None,
    parallelism: int | None = None,
    stop_at: float | None = None,
    progress: bool = True,
) -> Sweep:
    """Hyperopt's TPE through `fmin`: on Spark with SparkTrials when a session is given, else sequential Trials;
    with `stop_at`, `fmin` stops once an accuracy reaches it.

    Trials run where Spark puts them, so their nested runs are written by the driver from the trial documents
    (with each trial's own start and end time) once `fmin` returns or is interrupted.
    """
    from hyperopt import Trials, fmin
    from hyperopt import tpe as hyperopt_tpe
    from hyperopt.spark import SparkTrials

    trials = SparkTrials(parallelism=parallelism, spark_session=spark) if spark is not None else Trials()
    algo = functools.partial(hyperopt_tpe.suggest, n_startup_jobs=tpe.startup)
    name = "hyperopt-spark" if spark is not None else "hyperopt"
    with _parent(tracker, name, budget, spark=spark is not None) as parent:
        sweep = Sweep(name, budget, time.time())

        def run() -> None:
            try:
                with warnings.catch_warnings():  # PySpark warns on every SparkTrials task thread
                    warnings.filterwarnings("ignore", message="Spark session is not provided")
                    fmin(
                        HyperoptObjective(objective, space, name),
                        space.hyperopt(),
                        algo=algo,
                        max_evals=budget,
                        trials=trials,
                        rstate=np.random.default_rng(tpe.seed),
                        return_argmin=False,
                        loss_threshold=None if stop_at is None else -stop_at,
                        show_progressbar=progress,
                    )
            finally:
                sweep.trials = hyperopt_results(trials, space, name)
                sweep.spark_trials = len(sweep.trials) if spark is not None else 0
                if tracker is not None and parent is not None:
                    for index, result in enumerate(sweep.trials):
                        _log_trial(tracker, parent, f"{name}-{index:03d}", result)

        return _track(tracker, parent, sweep, run)


def tolerance_target(sweeps: dict[str, Sweep], tolerance: float) -> float:
    """The best accuracy any strategy found, minus `tolerance` (0.005 is half an accuracy point)."""
    bests = [s.best.accuracy for s in sweeps.values() if s.best is not None]
    if not bests:
        raise ValueError(
            "Every trial of every strategy failed, so there is no best accuracy to compare against."
        )
    return max(bests) - tolerance


def summary_table(sweeps: dict[str, Sweep], tolerance: float = 0.005) -> pd.DataFrame:
    """Per strategy: evaluations, failures, best accuracy, wall time and the effort to get within `tolerance`."""
    import pandas as pd

    target = tolerance_target(sweeps, tolerance)
    rows = []
    for name, sweep in sweeps.items():
        evals, seconds = sweep.reach(target)
        best = sweep.best
        rows.append(
            {
                "strategy": name,
                "evaluations": sweep.evaluations,
                "failed": sweep.failed,
                "best accuracy": best.accuracy if best else np.nan,
                "wall s": sweep.wall_s,
                "evaluations to target": evals,
                "seconds to target": seconds,
                "best params": best.params if best else None,
            }
        )
    return pd.DataFrame(rows).set_index("strategy")


def speed_ratio(slow: Sweep, fast: Sweep, target: float) -> tuple[float | None, str]:
    """Seconds `slow` needed to reach `target` ÷ seconds `fast` needed, with a note when one never reached it.

    A sweep that never reached the target is charged its whole wall time, so the ratio becomes a bound.
    """
    _, slow_s = slow.reach(target)
    _, fast_s = fast.reach(target)
    if slow_s is None and fast_s is None:
        return None, "neither sweep reached the target"
    if fast_s is None:
        return slow_s / fast.wall_s, f"{fast.strategy} never reached the target: ratio is an upper bound"
    if slow_s is None:
        return slow.wall_s / fast_s, f"{slow.strategy} never reached the target: ratio is a lower bound"
    return slow_s / fast_s, ""


def plot_curves(sweeps: dict[str, Sweep], target: float) -> Any:
    """Best-so-far accuracy against evaluations and against wall-clock seconds, one line per strategy."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for name, sweep in sweeps.items():
        curve = sweep.curve()
        axes[0].step(curve["evaluation"], curve["best_so_far"], where="post", label=name)
        axes[1].step(curve["elapsed_s"], curve["best_so_far"], where="post", label=name)
    for ax, xlabel in zip(axes, ("evaluations", "wall-clock seconds since the sweep began"), strict=True):
        ax.axhline(target, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("best holdout accuracy so far")
    axes[0].legend(title="strategy")
    axes[1].annotate(
        "within 0.5 pt of the best",
        (0, target),
        xytext=(0, 3),
        textcoords="offset points",
        fontsize=8,
        color="grey",
    )
    fig.suptitle("Best-so-far accuracy on an equal budget")
    return fig


def sweep_seconds(objective: Objective, candidates: list[dict[str, Any]]) -> Callable[[], None]:
    """A callable that fits every candidate once (for timing a fixed sweep on one backend)."""

    def sweep() -> None:
        for params in candidates:
            objective.fit(params)

    return sweep


def first_error(sweeps: dict[str, Sweep]) -> str:
    """The first failed trial's error across sweeps (empty when nothing failed)."""
    errors = (t.error for t in itertools.chain.from_iterable(s.trials for s in sweeps.values()) if not t.ok)
    return next(errors, "")


SEARCHERS = ("random", "hyperopt", "optuna")


def grid_reach(sweep: Sweep, target: float, seed: int) -> tuple[int | None, float | None]:
    """Evaluations and fit seconds until the grid, evaluated in a seeded random order, first reaches `target`.

    A grid's natural order is arbitrary with respect to where the good points lie; a random order averaged over
    seeds is its expected cost."""
    order = np.random.default_rng(seed).permutation(len(sweep.trials))
    seconds = 0.0
    for count, index in enumerate(order, start=1):
        trial = sweep.trials[index]
        seconds += trial.duration_s
        if trial.ok and trial.accuracy >= target:
            return count, seconds
    return None, None


@dataclass
class Regime:
    """One space of the study: the full grid's sweep, the target it sets, and each searcher's sweeps (one per seed)."""

    n_params: int
    space: SearchSpace
    grid: Sweep
    target: float
    seeds: list[int]
    sweeps: dict[str, list[Sweep]] = field(default_factory=dict)

    @property
    def budget(self) -> int:
        """Evaluations the full grid took (and the most any searcher may take)."""
        return self.grid.evaluations

    def effort(self, strategy: str) -> list[tuple[int, float, bool]]:
        """Per seed: evaluations and seconds to the target, and whether it was reached (unreached: the whole sweep)."""
        if strategy == "grid":
            reaches = [grid_reach(self.grid, self.target, seed) for seed in self.seeds]
            return [(e, s, True) for e, s in reaches]  # the grid always holds its own best
        out = []
        for sweep in self.sweeps[strategy]:
            evals, seconds = sweep.reach(self.target)
            out.append(
                (evals, seconds, True) if evals is not None else (sweep.evaluations, sweep.wall_s, False)
            )
        return out

    def median_effort(self, strategy: str) -> tuple[float, float, int]:
        """Median evaluations and seconds to the target over seeds, and how many seeds never reached it."""
        effort = self.effort(strategy)
        evals, seconds, reached = zip(*effort, strict=True)
        return float(np.median(evals)), float(np.median(seconds)), len(effort) - sum(reached)


def compare_strategies(
    objective: Objective,
    max_trees: int,
    sizes: Iterable[int],
    levels: int,
    seeds: Iterable[int],
    startup: int,
    tolerance: float = 0.005,
) -> list[Regime]:
    """For each space size: the full grid (`levels` per hyperparameter), its best minus `tolerance` as the target,
    then random, Hyperopt TPE and Optuna TPE per seed, in this process and untracked, stopping at the target or
    after as many evaluations as the grid took."""
    seeds = list(seeds)
    regimes = []
    for n_params in sizes:
        space = SearchSpace.ladder(max_trees, n_params)
        candidates = space.grid_of((levels,) * n_params)
        grid = run_sequential("grid", candidates, objective, None, progress=False)
        if grid.best is None:
            raise ValueError(
                f"Every grid trial failed in the {n_params}-hyperparameter space: {first_error({'grid': grid})}"
            )
        regime = Regime(n_params, space, grid, grid.best.accuracy - tolerance, seeds)
        budget, target = len(candidates), regime.target
        regime.sweeps = {
            "random": [
                run_sequential("random", space.random(budget, s), objective, None, target, progress=False)
                for s in seeds
            ],
            "hyperopt": [
                run_hyperopt(
                    space, budget, objective, None, TpeSettings(s, startup), stop_at=target, progress=False
                )
                for s in seeds
            ],
            "optuna": [
                run_optuna(
                    space, budget, objective, None, TpeSettings(s, startup), stop_at=target, progress=False
                )
                for s in seeds
            ],
        }
        regimes.append(regime)
    return regimes


def study_table(regimes: list[Regime]) -> pd.DataFrame:
    """Per space size and strategy: grid size, target, median (min–max) evaluations and seconds to the target."""
    import pandas as pd

    rows = []
    for regime in regimes:
        for strategy in ("grid", *SEARCHERS):
            effort = regime.effort(strategy)
            evals = [e for e, _, _ in effort]
            median_evals, median_s, missed = regime.median_effort(strategy)
            rows.append(
                {
                    "hyperparameters": regime.n_params,
                    "strategy": strategy,
                    "grid points": regime.budget,
                    "target accuracy": regime.target,
                    "evaluations to target": median_evals,
                    "range": f"{min(evals)}–{max(evals)}",
                    "seconds to target": median_s,
                    "seeds not reaching": missed,
                    "seeds": len(effort),
                }
            )
    return pd.DataFrame(rows).set_index(["hyperparameters", "strategy"])


def study_ratio(regime: Regime, strategy: str = "hyperopt", on: str = "seconds") -> tuple[float, str]:
    """Grid's median effort to the target ÷ the strategy's (`on` seconds or evaluations), with a note on bounds."""
    grid_evals, grid_s, _ = regime.median_effort("grid")
    evals, seconds, missed = regime.median_effort(strategy)
    ratio = grid_s / seconds if on == "seconds" else grid_evals / evals
    note = (
        (
            f"{missed} of {len(regime.seeds)} {strategy} seeds never reached the target and are charged their whole "
            "sweep, so the ratio is an upper bound"
        )
        if missed
        else ""
    )
    return ratio, note


def plot_study(regimes: list[Regime]) -> Any:
    """Median evaluations and seconds to the target (bars: min–max over seeds) against the number of hyperparameters."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    sizes = [r.n_params for r in regimes]
    for offset, marker, strategy in zip(
        (-0.09, -0.03, 0.03, 0.09), "os^D", ("grid", *SEARCHERS), strict=True
    ):
        for ax, column in zip(axes, (0, 1), strict=True):
            values = [[e[column] for e in r.effort(strategy)] for r in regimes]
            median = np.array([np.median(v) for v in values])
            spread = [median - [min(v) for v in values], [max(v) for v in values] - median]
            x = [size + offset for size in sizes]
            ax.errorbar(x, median, yerr=spread, marker=marker, capsize=3, label=strategy)
    axes[0].plot(sizes, [r.budget for r in regimes], color="grey", linestyle=":", label="full grid")
    for ax, ylabel in zip(axes, ("evaluations to target", "seconds to target (this machine)"), strict=True):
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xlabel("hyperparameters searched")
        ax.set_ylabel(ylabel)
    axes[0].legend(title="strategy")
    fig.suptitle(
        "Effort to get within 0.5 pt of the full grid's best, as the space grows (median, min–max over seeds)"
    )
    return fig
