"""Statistics shared by the verdicts and by the sentences that explain them, so the two can never disagree.

`mean_std` summarises repeated measurements (sample standard deviation); `welch` compares two groups: the
difference of their means and its standard error √(s₁²/n₁ + s₂²/n₂) (Welch, unequal variances).

Every verdict is judged on an `Estimate`: a value with its two-sided confidence interval, built here from what was
measured — a t interval over seeds, a Wilson interval over held-out examples, the order-statistic interval of the
median over paired timing rounds, a Welch or paired difference, a ratio on the log scale — or `exact` for a value
without sampling error (a count, a size).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

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


# --- confidence intervals: what every verdict is judged on ------------------------------------------------------

LEVEL = 0.95  # the two-sided confidence level of every interval a verdict is judged on


@dataclass(frozen=True)
class Estimate:
    """A measurement with its uncertainty: the estimate, a two-sided interval at `level` (None for an exact
    value, whose interval is the value itself), what the interval is of, and how many samples it rests on."""

    value: float
    low: float
    high: float
    level: float | None
    of: str
    n: int = 1
    samples: str = ""  # what n counts ("seeds", "paired rounds", "held-out examples"); "" for an exact value
    log_scale: bool = False  # the interval is symmetric on the log scale (a ratio's), not on the value's own

    def __post_init__(self) -> None:
        require(
            self.low <= self.value <= self.high,
            f"An estimate must lie in its interval; got {self.value} outside [{self.low}, {self.high}].",
        )

    def interval_text(self) -> str:
        """'95 % CI [0.41, 0.57] (mean over 3 seeds, t)', or 'exact (…)' for a value without sampling error."""
        if self.level is None:
            return f"exact ({self.of})"
        if not math.isfinite(self.high - self.low):
            return f"no interval ({self.of})"
        return f"{self.level:.0%} CI [{self.low:.4g}, {self.high:.4g}] ({self.of})".replace("%", " %", 1)

    def scaled(self, scale: float, offset: float = 0.0) -> Estimate:
        """The estimate of scale · x + offset (scale > 0), e.g. a proportion in points above chance."""
        require(scale > 0, f"scale must be positive, got {scale}.")
        return replace(
            self,
            value=scale * self.value + offset,
            low=scale * self.low + offset,
            high=scale * self.high + offset,
        )

    def to_dict(self) -> dict[str, Any]:
        """The estimate as a plain dict (stored with its claim in claims.json)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimate:
        """Rebuild an estimate stored by `to_dict` (JSON stores an unbounded side as null)."""
        low = -math.inf if data["low"] is None else data["low"]
        high = math.inf if data["high"] is None else data["high"]
        return cls(**{**data, "low": low, "high": high})


def exact(value: float, of: str = "computed, no sampling error") -> Estimate:
    """A value without sampling uncertainty (a count, a size, a formula): its interval is the value itself."""
    return Estimate(float(value), float(value), float(value), None, of)


def mean_interval(values: Sequence[float], samples: str = "seeds", level: float = LEVEL) -> Estimate:
    """The mean of two or more values with its Student t interval (n − 1 degrees of freedom)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    require(len(values) >= 2, f"A t interval needs two or more {samples}, got {len(values)}.")
    mean = float(values.mean())
    half = float(stats.t.ppf((1 + level) / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return Estimate(
        mean, mean - half, mean + half, level, f"mean over {len(values)} {samples}, t", len(values), samples
    )


def paired_difference_interval(
    higher: Sequence[float], lower: Sequence[float], samples: str = "seeds (paired)", level: float = LEVEL
) -> Estimate:
    """The mean of the pairwise differences higher − lower with its paired t interval (two or more pairs)."""
    require(
        len(higher) == len(lower), f"Paired values need as many of each; got {len(higher)} and {len(lower)}."
    )
    return mean_interval([a - b for a, b in zip(higher, lower, strict=True)], samples, level)


def proportion_interval(
    proportion: float, n: int, samples: str = "held-out examples", level: float = LEVEL
) -> Estimate:
    """A proportion measured on `n` independent examples with its Wilson score interval."""
    from scipy import stats

    require(
        n > 0 and 0 <= proportion <= 1,
        f"A proportion interval needs 0 ≤ p ≤ 1 and n > 0, got p={proportion}, n={n}.",
    )
    z = float(stats.norm.ppf((1 + level) / 2))
    centre = (proportion + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(proportion * (1 - proportion) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    low, high = min(centre - half, proportion), max(centre + half, proportion)
    return Estimate(float(proportion), low, high, level, f"proportion of {n:,} {samples}, Wilson", n, samples)


def _require_evaluation_size(n_eval: int | None) -> None:
    """One run's interval comes from its evaluation set: refuse, in one sentence, a missing size."""
    require(
        n_eval is not None and n_eval > 0,
        "With one seed the interval comes from the evaluation set; pass n_eval.",
    )


def accuracy_interval(values: Sequence[float], n_eval: int | None = None, level: float = LEVEL) -> Estimate:
    """A mean accuracy: the t interval over two or more runs; with one run, the Wilson interval of that accuracy on
    its `n_eval` evaluation examples (the spread over runs then unseen)."""
    if len(values) >= 2:
        return mean_interval(values, "seeds", level)
    _require_evaluation_size(n_eval)
    return proportion_interval(float(values[0]), n_eval, level=level)


def difference_interval(
    a: Sequence[float], b: Sequence[float], samples: str = "seeds", level: float = LEVEL
) -> Estimate:
    """mean(a) − mean(b) over paired runs (same seeds), with the t interval of the per-pair differences."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    estimate = mean_interval(diff, samples, level)
    return replace(estimate, of=f"mean paired difference over {len(diff)} {samples}, t")


def welch_interval(
    a: Sequence[float], b: Sequence[float], samples: str = "seeds", level: float = LEVEL
) -> Estimate:
    """mean(a) − mean(b) of two independent groups (two or more values each) with the Welch t interval: standard
    error √(s_a²/n_a + s_b²/n_b), Welch–Satterthwaite degrees of freedom."""
    from scipy import stats

    d = welch(a, b)
    require(
        d is not None,
        f"A Welch interval needs two or more {samples} on each side, got {len(a)} and {len(b)}.",
    )
    var_a, var_b = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    dof = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1)) if d.se > 0 else 1.0
    half = float(stats.t.ppf((1 + level) / 2, dof) * d.se)
    of = f"difference of means over {d.n_a}+{d.n_b} {samples}, Welch t"
    return Estimate(d.diff, d.diff - half, d.diff + half, level, of, min(d.n_a, d.n_b), samples)


def ratio_interval(
    numerators: Sequence[float], denominators: Sequence[float], samples: str = "seeds", level: float = LEVEL
) -> Estimate:
    """The geometric mean of paired ratios numerator/denominator (two or more positive pairs) with the t interval
    of the mean log ratio, exponentiated: a ratio's uncertainty is symmetric on the log scale."""
    logs = np.log(np.asarray(numerators, dtype=float)) - np.log(np.asarray(denominators, dtype=float))
    require(bool(np.all(np.isfinite(logs))), "A ratio interval needs positive numerators and denominators.")
    on_logs = mean_interval(logs, samples, level)
    of = f"geometric mean of {on_logs.n} paired ratios over {samples}, t on logs"
    value, low, high = (math.exp(x) for x in (on_logs.value, on_logs.low, on_logs.high))
    return Estimate(value, low, high, level, of, on_logs.n, samples, log_scale=True)


def single(value: float, samples: str = "seeds") -> Estimate:
    """One sample of a noisy measurement: the value with no interval (unbounded), so a verdict on it is
    inconclusive until two or more samples are taken."""
    return Estimate(float(value), -math.inf, math.inf, LEVEL, "a single measurement", 1, samples)


def proportion_difference_interval(
    a: Sequence[float], b: Sequence[float], n: int, samples: str = "held-out examples", level: float = LEVEL
) -> Estimate:
    """The mean of paired differences a_i − b_i of proportions, each measured on `n` independent examples, with the
    normal interval of that mean: z · √(Σ a_i(1 − a_i) + b_i(1 − b_i)) / √n / (number of pairs)."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    require(len(a) == len(b) >= 1 and n > 0, f"Need as many proportions on each side and n > 0, got n={n}.")
    diff = float((a - b).mean())
    half = float(
        stats.norm.ppf((1 + level) / 2) * math.sqrt(float((a * (1 - a) + b * (1 - b)).sum()) / n) / len(a)
    )
    of = f"difference of proportions on {n:,} {samples} each, normal"
    return Estimate(diff, diff - half, diff + half, level, of, n, samples)


def accuracy_difference_interval(
    a: Sequence[float], b: Sequence[float], n_eval: int | None = None, level: float = LEVEL
) -> Estimate:
    """mean(a) − mean(b) of accuracies: over two or more paired runs, the t interval of the per-run differences;
    with one run each, the normal interval of two proportions on `n_eval` examples each."""
    if len(a) >= 2:
        return difference_interval(a, b, "seeds", level)
    _require_evaluation_size(n_eval)
    return proportion_difference_interval(a, b, n_eval, level=level)


def distance_interval(estimate: Estimate, centre: float) -> Estimate:
    """|x − centre| for x in the estimate's interval: from 0 (or the nearer bound) to the farther bound."""
    low, high = estimate.low - centre, estimate.high - centre
    near = 0.0 if low <= 0 <= high else min(abs(low), abs(high))
    far = max(abs(low), abs(high))
    return replace(
        estimate,
        value=abs(estimate.value - centre),
        low=near,
        high=far,
        of=f"distance from {centre:g}, {estimate.of}",
    )


def median_interval(
    values: Sequence[float], samples: str = "paired rounds", level: float = LEVEL
) -> Estimate:
    """The median with its distribution-free interval between the k-th smallest and k-th largest values (binomial
    coverage, no assumption on the distribution): the narrowest such interval that reaches `level`; with too few
    values, (min, max) and the lower level it reaches. The level stored is the coverage reached."""
    from scipy import stats

    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    require(n >= 2, f"A median interval needs two or more {samples}, got {n}.")

    def coverage(k: int) -> float:
        """P(k-th smallest ≤ median ≤ k-th largest) for n values."""
        return float(1 - 2 * stats.binom.cdf(k - 1, n, 0.5))

    k = 1
    while k < n // 2 and coverage(k + 1) >= level:
        k += 1
    median = float(np.median(ordered))
    of = f"median over {n} {samples}, order statistics"
    return Estimate(
        median, float(ordered[k - 1]), float(ordered[n - k]), round(coverage(k), 3), of, n, samples
    )
