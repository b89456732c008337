"""Statistics shared by the verdicts and by the sentences that explain them, so the two can never disagree.

`mean_std` summarises repeated measurements (sample standard deviation); `welch` compares two groups: the
difference of their means and its standard error √(s₁²/n₁ + s₂²/n₂) (Welch, unequal variances).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import NamedTuple


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
