"""Hyperparameter search on an equal budget: grid, random, Hyperopt TPE (on Spark when it can) and Optuna TPE.

The objective is the talk's: a random forest on the airline data, scored by holdout accuracy, through the helpers
backend (scikit-learn on CPU, cuML on GPU). Every strategy gets the same number of evaluations; each trial becomes a
nested MLflow run through a `helpers.hpo.tracking.Tracker`. Heavy libraries are imported inside functions so that Spark
workers, which unpickle `Objective` and `HyperoptObjective`, import little.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.core.claims import Claim, at_least, greater_than
from helpers.datasets.airline import FEATURES, TARGET

if TYPE_CHECKING:
    import pandas as pd

    from helpers.hpo.tracking import Tracker

STRATEGIES = ("grid", "random", "hyperopt", "optuna")
NOTEBOOK = "03_hyperparameter_search"

GPU_SWEEP_CLAIM = Claim(
    id="hpo_gpu_sweep_35x",
    notebook=NOTEBOOK,
    source="John Zedlewski (NVIDIA), 'Accelerating MLflow Hyper-parameter Optimization Pipelines with RAPIDS', "
    "Spark + AI Summit 2020 (talk notebook: 20M rows, 24 min on one V100 vs ~14 h on 8 vCPUs)",
    statement="A Hyperopt random-forest sweep on airline data runs about 35x faster on one GPU with RAPIDS than on CPUs",
    published=35.0,
    unit="x",
    rule=at_least(30.0, partly=10.0),
)
GRID_CLAIM = Claim(
    id="hpo_hyperopt_vs_grid",
    notebook=NOTEBOOK,
    source="My Week in AI, part 6 (seed blog post), on the same talk",
    statement="A Hyperopt sweep is 'extremely fast compared with a grid search in scikit-learn' (time for each to "
    "reach within 0.5 accuracy points of the best score, grid ÷ Hyperopt)",
    published="extremely fast",
    unit="x",
    rule=greater_than(3.0, partly=1.0),
)


@dataclass(frozen=True)
class SearchSpace:
    """The talk's random-forest space: depth 5–15, feature fraction 0.1–1.0, trees in `trees_step` steps."""

    max_depth: tuple[int, int] = (5, 15)
    max_features: tuple[float, float] = (0.1, 1.0)
    n_estimators: tuple[int, int, int] = (100, 500, 100)

    def __post_init__(self) -> None:
        lo, hi, step = self.n_estimators
        if not (self.max_depth[0] < self.max_depth[1] and self.max_features[0] < self.max_features[1]):
            raise ValueError("SearchSpace ranges must be (low, high) with low < high.")
        if not (0 < lo < hi and step > 0 and (hi - lo) % step == 0):
            raise ValueError(
                f"n_estimators {self.n_estimators} must be (low, high, step) with step dividing high-low."
            )

    @classmethod
    def talk(cls, max_trees: int = 500) -> SearchSpace:
        """The talk's space with the forest size scaled: trees from max_trees/5 to max_trees in steps of max_trees/5."""
        if max_trees < 5 or max_trees % 5:
            raise ValueError(f"max_trees={max_trees} must be a positive multiple of 5 (the talk uses 500).")
        return cls(n_estimators=(max_trees // 5, max_trees, max_trees // 5))

    @property
    def tree_levels(self) -> list[int]:
        """The allowed numbers of trees."""
        lo, hi, step = self.n_estimators
        return list(range(lo, hi + 1, step))

    def describe(self) -> dict[str, str]:
        """Each hyperparameter's range in words, for tables."""
        lo, hi, step = self.n_estimators
        return {
            "max_depth": f"integer {self.max_depth[0]}–{self.max_depth[1]}",
            "max_features": f"uniform {self.max_features[0]}–{self.max_features[1]}",
            "n_estimators": f"{lo}–{hi} in steps of {step}",
        }

    def normalise(self, params: dict[str, Any]) -> dict[str, Any]:
        """Hyperparameters as the forest takes them: integer depth and trees, float feature fraction."""
        return {
            "max_depth": int(round(float(params["max_depth"]))),
            "max_features": float(params["max_features"]),
            "n_estimators": int(round(float(params["n_estimators"]))),
        }

    def contains(self, params: dict[str, Any]) -> bool:
        """True when `params` lie inside the space."""
        depth, features, trees = params["max_depth"], params["max_features"], params["n_estimators"]
        return (
            self.max_depth[0] <= depth <= self.max_depth[1]
            and self.max_features[0] <= features <= self.max_features[1]
            and trees in self.tree_levels
        )

    def grid_shape(self, budget: int) -> tuple[int, int, int]:
        """Levels per hyperparameter whose product is exactly `budget`, as balanced as possible (depth first)."""
        if budget < 1:
            raise ValueError(f"A grid needs a budget of at least 1 evaluation, got {budget}.")
        n_depth = self.max_depth[1] - self.max_depth[0] + 1
        shapes = [
            (a, b, budget // (a * b))
            for a in range(1, min(budget, n_depth) + 1)
            for b in range(1, budget + 1)
            if budget % (a * b) == 0 and budget // (a * b) <= len(self.tree_levels)
        ]
        return min(shapes, key=lambda s: (max(s) - min(s), -s[0], -s[1]))

    def grid(self, budget: int) -> list[dict[str, Any]]:
        """Exactly `budget` grid points, evenly spaced per hyperparameter (a single level sits mid-range)."""
        from sklearn.model_selection import ParameterGrid

        a, b, c = self.grid_shape(budget)

        def spread(lo: float, hi: float, k: int) -> np.ndarray:
            return np.array([(lo + hi) / 2]) if k == 1 else np.linspace(lo, hi, k)

        trees = self.tree_levels
        levels = {
            "max_depth": sorted({int(round(v)) for v in spread(*self.max_depth, a)}),
            "max_features": [round(float(v), 3) for v in spread(*self.max_features, b)],
            "n_estimators": [trees[int(round(i))] for i in spread(0, len(trees) - 1, c)],
        }
        return [self.normalise(p) for p in ParameterGrid(levels)]

    def random(self, budget: int, seed: int) -> list[dict[str, Any]]:
        """`budget` points drawn uniformly from the space with scikit-learn's ParameterSampler."""
        from scipy.stats import randint, uniform
        from sklearn.model_selection import ParameterSampler

        lo, hi = self.max_features
        distributions = {
            "max_depth": randint(self.max_depth[0], self.max_depth[1] + 1),
            "max_features": uniform(lo, hi - lo),
            "n_estimators": self.tree_levels,
        }
        return [self.normalise(p) for p in ParameterSampler(distributions, budget, random_state=seed)]

    def hyperopt(self) -> dict[str, Any]:
        """The space in Hyperopt's terms, as in the talk's notebook (`quniform` trees)."""
        from hyperopt import hp

        lo, hi, step = self.n_estimators
        return {
            "max_depth": hp.uniformint("max_depth", *self.max_depth),
            "max_features": hp.uniform("max_features", *self.max_features),
            "n_estimators": hp.quniform("n_estimators", lo, hi, step),
        }

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Draw one point with an Optuna trial."""
        lo, hi, step = self.n_estimators
        return {
            "max_depth": trial.suggest_int("max_depth", *self.max_depth),
            "max_features": trial.suggest_float("max_features", *self.max_features),
            "n_estimators": trial.suggest_int("n_estimators", lo, hi, step=step),
        }


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
    frame = b.df.read_parquet(data_path, columns=[*FEATURES, TARGET])
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
        frame = pd.DataFrame({
            "evaluation": range(1, len(rows) + 1),
            "elapsed_s": [t.end - self.start for t in rows],
            "accuracy": [t.accuracy if t.ok else np.nan for t in rows],
        })  # fmt: skip
        frame["best_so_far"] = frame["accuracy"].cummax().ffill()
        return frame

    def reach(self, target: float) -> tuple[int | None, float | None]:
        """Evaluations and seconds until the best-so-far accuracy first reached `target` (None, None if never)."""
        curve = self.curve()
        hit = curve[curve["best_so_far"] >= target]
        if hit.empty:
            return None, None
        return int(hit["evaluation"].iloc[0]), float(hit["elapsed_s"].iloc[0])


def _track(tracker: Tracker, parent: str, sweep: Sweep, run: Callable[[], None]) -> Sweep:
    try:
        run()
    finally:
        sweep.end = time.time()
        tracker.log_sweep_metrics(parent, sweep)
    return sweep


def run_sequential(
    strategy: str, candidates: Iterable[dict[str, Any]], objective: Objective, tracker: Tracker, budget: int
) -> Sweep:
    """Evaluate precomputed candidates one after another (grid and random search), each as a nested run."""
    from tqdm.auto import tqdm

    with tracker.sweep_run(strategy, budget) as parent:
        sweep = Sweep(strategy, budget, time.time())

        def run() -> None:
            for index, params in enumerate(tqdm(list(candidates), desc=strategy, leave=False)):
                sweep.trials.append(
                    tracker.run_trial(parent, f"{strategy}-{index:03d}", objective, params, strategy)
                )

        return _track(tracker, parent, sweep, run)


class TrialFailed(RuntimeError):
    """Raised inside an Optuna objective so that Optuna records the trial as failed and carries on."""


def run_optuna(
    space: SearchSpace, budget: int, objective: Objective, tracker: Tracker, seed: int, startup: int
) -> Sweep:
    """Optuna's TPE sampler (seeded, `startup` random trials first); failed trials are marked FAIL and skipped."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(n_startup_trials=startup, seed=seed)
    )
    with tracker.sweep_run("optuna", budget) as parent:
        sweep = Sweep("optuna", budget, time.time())

        def evaluate(trial: Any) -> float:
            params = space.normalise(space.suggest(trial))
            result = tracker.run_trial(parent, f"optuna-{trial.number:03d}", objective, params, "optuna")
            sweep.trials.append(result)
            if not result.ok:
                raise TrialFailed(result.error)
            return result.accuracy

        return _track(
            tracker, parent, sweep,
            lambda: study.optimize(evaluate, n_trials=budget, catch=(TrialFailed,), show_progress_bar=True),
        )  # fmt: skip


@dataclass(frozen=True)
class HyperoptObjective:
    """Hyperopt's view of the objective (loss = −accuracy); picklable, so SparkTrials can ship it to workers."""

    objective: Objective
    space: SearchSpace

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        """Evaluate one Hyperopt sample and return Hyperopt's result dict with the TrialResult inside."""
        from hyperopt import STATUS_FAIL, STATUS_OK

        result = self.objective(self.space.normalise(sample), "hyperopt")
        if not result.ok:
            return {"status": STATUS_FAIL, "trial": result.to_dict()}
        return {"status": STATUS_OK, "loss": -result.accuracy, "trial": result.to_dict()}


def _epoch(moment: dt.datetime | None, default: float) -> float:
    if moment is None:
        return default
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def hyperopt_results(trials: Any, space: SearchSpace) -> list[TrialResult]:
    """TrialResults from Hyperopt trial documents; a crashed, cancelled or unfinished trial becomes a failed one."""
    results = []
    for doc in trials.trials:
        carried = (doc.get("result") or {}).get("trial")
        if carried is not None:
            results.append(TrialResult(**carried))
            continue
        sample = {k: v[0] for k, v in doc["misc"]["vals"].items() if v}
        params = space.normalise(sample) if len(sample) == 3 else sample
        error = doc["misc"].get("error") or ("interrupted", "the trial did not finish")
        now = time.time()
        start = _epoch(doc.get("book_time"), now)
        end = _epoch(doc.get("refresh_time"), now)
        results.append(
            TrialResult("hyperopt", params, None, start, end, f"{error[0]}: {str(error[1])[-300:]}")
        )
    return results


def run_hyperopt(
    space: SearchSpace,
    budget: int,
    objective: Objective,
    tracker: Tracker,
    seed: int,
    startup: int,
    spark: Any = None,
    parallelism: int | None = None,
) -> Sweep:
    """Hyperopt's TPE through `fmin`: on Spark with SparkTrials when a session is given, else sequential Trials.

    Trials run where Spark puts them, so their nested runs are written by the driver from the trial documents
    (with each trial's own start and end time) once `fmin` returns or is interrupted.
    """
    from hyperopt import Trials, fmin, tpe
    from hyperopt.spark import SparkTrials

    trials = SparkTrials(parallelism=parallelism, spark_session=spark) if spark is not None else Trials()
    algo = functools.partial(tpe.suggest, n_startup_jobs=startup)
    with tracker.sweep_run("hyperopt", budget, spark=spark is not None) as parent:
        sweep = Sweep("hyperopt", budget, time.time())

        def run() -> None:
            try:
                with warnings.catch_warnings():  # PySpark warns on every SparkTrials task thread
                    warnings.filterwarnings("ignore", message="Spark session is not provided")
                    fmin(
                        HyperoptObjective(objective, space), space.hyperopt(), algo=algo, max_evals=budget,
                        trials=trials, rstate=np.random.default_rng(seed), return_argmin=False,
                    )  # fmt: skip
            finally:
                sweep.trials = hyperopt_results(trials, space)
                sweep.spark_trials = len(sweep.trials) if spark is not None else 0
                for index, result in enumerate(sweep.trials):
                    tracker.record_trial(parent, f"hyperopt-{index:03d}", result)

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
        rows.append({
            "strategy": name,
            "evaluations": sweep.evaluations,
            "failed": sweep.failed,
            "best accuracy": best.accuracy if best else np.nan,
            "wall s": sweep.wall_s,
            "evaluations to target": evals,
            "seconds to target": seconds,
            "best params": best.params if best else None,
        })  # fmt: skip
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
    axes[1].annotate("within 0.5 pt of the best", (0, target), xytext=(0, 3), textcoords="offset points",
                     fontsize=8, color="grey")  # fmt: skip
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
