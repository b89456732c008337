"""The search space: hyperparameter dimensions, the ladder of random-forest spaces, grid and random candidates."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

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
