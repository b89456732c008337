"""The strategies on an equal budget: grid and random in sequence, Optuna TPE, and Hyperopt TPE (on Spark too)."""

from __future__ import annotations

import datetime as dt
import functools
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.hpo.objective import Objective, Sweep, TrialResult, _log_trial, _parent, _track, evaluate
from helpers.hpo.space import SearchSpace

if TYPE_CHECKING:
    from helpers.hpo.tracking import Tracker

# Heavy libraries are imported inside functions, so Spark workers unpickling `HyperoptObjective` import little.

STRATEGIES = ("grid", "random", "hyperopt", "optuna")


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
