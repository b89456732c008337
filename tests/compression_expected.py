"""Expected compression verdicts computed here from recorded numbers, independently of helpers' rule code.

The thresholds are the published rule written out again (2× significant, 1.25× partly; accuracy: the difference
of means must be > 0), judged on 95 % intervals computed here with NumPy and SciPy instead of helpers.core.stats:
the Welch t interval of the accuracy difference, the order-statistic interval of the median of paired rounds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from scipy import stats

REPRODUCED, PARTLY, NOT_REPRODUCED, INCONCLUSIVE, NOT_MEASURABLE = (
    "reproduced",
    "partly reproduced",
    "not reproduced",
    "inconclusive",
    "not measurable here",
)


MEASURES = ("size", "latency_b1", "throughput_b64")


def efficiency_claims(claims: list[dict], technique: str) -> dict[str, dict]:
    """The three stored efficiency claims of a technique, by measure (fails when one is missing)."""
    by_id = {c["id"]: c for c in claims}
    ids = {m: f"compression.{technique}.efficiency.{m}" for m in MEASURES}
    missing = [i for i in ids.values() if i not in by_id]
    assert not missing, f"efficiency claims not assessed: {missing}"
    return {m: by_id[i] for m, i in ids.items()}


def efficiency_verdict(low: float, high: float | None = None) -> str:
    """The verdict of a 'significant efficiency' ratio (> 1 = better) whose interval is [low, high]: wholly ≥ 2×,
    wholly in [1.25×, 2×), wholly below 1.25×, or straddling a bound (an exact ratio: low = high)."""
    high = low if high is None else high
    if low >= 2.0:
        return REPRODUCED
    if high < 1.25:
        return NOT_REPRODUCED
    return PARTLY if low >= 1.25 and high < 2.0 else INCONCLUSIVE


def median_rounds_interval(values: Sequence[float]) -> tuple[float, float]:
    """The k-th smallest and k-th largest of the rounds for the largest k whose binomial coverage of the median
    is ≥ 95 % ((min, max) when none is)."""
    ordered, n = sorted(values), len(values)
    k = max([k for k in range(1, n // 2 + 1) if 1 - 2 * stats.binom.cdf(k - 1, n, 0.5) >= 0.95], default=1)
    return ordered[k - 1], ordered[n - k]


def accuracy_interval(higher: Sequence[float], lower: Sequence[float]) -> tuple[float, float, float] | None:
    """mean(higher) − mean(lower) and its 95 % Welch t interval; None with < 2 values a side."""
    a, b = np.asarray(higher, dtype=float), np.asarray(lower, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff, se = float(a.mean() - b.mean()), float(np.sqrt(va + vb))
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.975, dof)) * se
    return diff, diff - half, diff + half


def paired_interval(higher: Sequence[float], lower: Sequence[float]) -> tuple[float, float, float] | None:
    """mean of the seed-by-seed differences higher − lower and its 95 % t interval; None with < 2 pairs."""
    d = np.asarray(higher, dtype=float) - np.asarray(lower, dtype=float)
    if len(d) < 2:
        return None
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return float(d.mean()), float(d.mean()) - half, float(d.mean()) + half


def check_accuracy_claim(
    entry: dict, higher: Sequence[float], lower: Sequence[float], paired: bool = False
) -> None:
    """Assert that a stored accuracy claim has the difference, interval and verdict computed here (Welch, or
    seed by seed when `paired`); a claim whose checks failed is not measurable at this scale."""
    computed = (paired_interval if paired else accuracy_interval)(higher, lower)
    if computed is None:
        assert entry["measured"] is None and entry["verdict"] == NOT_MEASURABLE, entry
        return
    diff, low, high = computed
    estimate = entry["estimate"]
    assert abs(entry["measured"] - diff) < 1e-9, (entry, diff)
    assert abs(estimate["low"] - low) < 1e-9 and abs(estimate["high"] - high) < 1e-9, (estimate, low, high)
    if not all(entry["checks"].values()):
        assert entry["verdict"] == "not measurable at this scale", entry
    elif min(abs(low), abs(high)) > 1e-12:  # a bound at exactly zero is decided by round-off, not by the rule
        expected = REPRODUCED if low > 0 else NOT_REPRODUCED if high <= 0 else INCONCLUSIVE
        assert entry["verdict"] == expected, (entry, computed)


def check_efficiency_claims(claims: dict[str, dict], results: dict, reference: str, variant: str) -> None:
    """Assert the size, batch-1 latency and batch-64 throughput verdicts of `variant` against `reference`: size
    from the two recorded rows, the latency ratios as the median of the recorded rounds of their paired run."""
    paired = {
        k[len(f"paired.{variant}.") :]: v for k, v in results.items() if k.startswith(f"paired.{variant}.")
    }
    assert paired["reference"] == reference and paired["variant"] == variant, paired
    assert len(paired["ratios"]["b1"]) == len(paired["ratios"]["large"]) >= 2
    expected = {
        "size": results[f"model.{reference}.size_bytes"] / results[f"model.{variant}.size_bytes"],
        "latency_b1": float(np.median(paired["ratios"]["b1"])),
        "throughput_b64": float(np.median(paired["ratios"]["large"])),
    }
    assert set(claims) == set(expected)
    intervals = {
        "size": (expected["size"], expected["size"]),
        "latency_b1": median_rounds_interval(paired["ratios"]["b1"]),
        "throughput_b64": median_rounds_interval(paired["ratios"]["large"]),
    }
    for measure, ratio in expected.items():
        entry = claims[measure]
        assert abs(entry["measured"] - ratio) < 1e-9 * max(1.0, ratio), (measure, entry, ratio)
        low, high = intervals[measure]
        assert (entry["estimate"]["low"], entry["estimate"]["high"]) == pytest.approx((low, high)), measure
        assert entry["verdict"] == efficiency_verdict(low, high), (measure, entry, ratio)


def overfit_accuracies(rows: list[dict], variant: str, setting: float = 0) -> list[float]:
    """Per-seed test accuracies of one variant and setting from a recorded over-fit sweep (`….overfit.rows`)."""
    picked = sorted(
        (r for r in rows if r["variant"] == variant and abs(r["setting"] - setting) < 1e-9),
        key=lambda r: r["seed"],
    )
    assert picked, f"no recorded rows for {variant} at {setting}"
    return [r["test_accuracy"] for r in picked]
