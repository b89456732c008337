"""Statistics shared by the verdicts and by the sentences that explain them, so the two can never disagree.

`mean_std` summarises repeated measurements (sample standard deviation); `welch` compares two groups: the
difference of their means and its standard error √(s₁²/n₁ + s₂²/n₂) (Welch, unequal variances).

One-sided margins of an accuracy (a proportion): `t_margin` over repeated runs (t quantile × standard error),
`binomial_margin` over the n examples one run was evaluated on (z quantile × √(p(1 − p)/n)); `accuracy_margin`
takes the first with two or more runs and the second with one, and `accuracy_difference_lower` bounds a difference
of two accuracies from below the same way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from helpers.core.params import require


class MeanStd(NamedTuple):
    """Mean, sample standard deviation (0.0 for one value) and count of a set of measurements."""

    mean: float
    std: float
    n: int


class Difference(NamedTuple):
    """mean(a) − mean(b), its Welch standard error and the group sizes."""

    diff: float
    se: float
    n_a: int
    n_b: int

    @property
    def beyond_se(self) -> float:
        """The difference minus its standard error: > 0 when `a` is larger by more than one standard error."""
        return self.diff - self.se


def mean_std(values: Sequence[float]) -> MeanStd:
    """(mean, sample standard deviation, n) of `values`; the std is 0.0 for a single value."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std() needs at least one value; measure before summarising.")
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return MeanStd(statistics.fmean(values), std, len(values))


def welch(a: Sequence[float], b: Sequence[float]) -> Difference | None:
    """mean(a) − mean(b) with its Welch standard error √(s_a²/n_a + s_b²/n_b); None when a side has < 2 values."""
    if len(a) < 2 or len(b) < 2:
        return None
    (m_a, s_a, n_a), (m_b, s_b, n_b) = mean_std(a), mean_std(b)
    return Difference(m_a - m_b, math.sqrt(s_a**2 / n_a + s_b**2 / n_b), n_a, n_b)


def t_margin(values: Sequence[float], confidence: float = 0.95) -> float:
    """One-sided `confidence` margin of the mean of two or more values: t quantile (n − 1 dof) × standard error."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    require(len(values) >= 2, f"A t margin needs two or more values, got {len(values)}.")
    return float(stats.t.ppf(confidence, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))


def binomial_margin(proportions: Sequence[float], n: int, confidence: float = 0.95) -> float:
    """One-sided `confidence` margin of a sum or difference of independent proportions measured on `n` examples
    each: z quantile × √(Σ p(1 − p) / n)."""
    from scipy import stats

    require(len(proportions) >= 1 and n > 0, f"A binomial margin needs proportions and n > 0, got n={n}.")
    variance = sum(float(p) * (1 - float(p)) for p in proportions) / n
    return float(stats.norm.ppf(confidence) * math.sqrt(variance))


def _evaluation_size(n_eval: int | None) -> int:
    require(
        n_eval is not None and n_eval > 0,
        "With one seed the margin comes from the evaluation set; pass n_eval, or run two or more seeds.",
    )
    return n_eval


def accuracy_margin(values: Sequence[float], n_eval: int | None = None, confidence: float = 0.95) -> float:
    """One-sided `confidence` margin of a mean accuracy: `t_margin` over two or more runs; with one run, the
    `binomial_margin` of that accuracy on its `n_eval` evaluation examples (the spread over runs unseen)."""
    if len(values) >= 2:
        return t_margin(values, confidence)
    return binomial_margin(values, _evaluation_size(n_eval), confidence)


def accuracy_difference_lower(
    a: Sequence[float], b: Sequence[float], n_eval: int | None = None, confidence: float = 0.95
) -> float:
    """mean(a) − mean(b) minus its one-sided `confidence` margin: over two or more paired runs, the `t_margin` of
    the per-run differences; with one run, the `binomial_margin` of both accuracies on `n_eval` examples each."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(diff) >= 2:
        return float(diff.mean()) - t_margin(diff, confidence)
    return float(diff[0]) - binomial_margin([a[0], b[0]], _evaluation_size(n_eval), confidence)
