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
NEGLIGIBLE_ACCURACY_CHANGE = 0.005  # the accuracy rule's negligible change (half a point), as it declares it


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


def paired_interval(higher: Sequence[float], lower: Sequence[float]) -> tuple[float, float, float] | None:
    """mean of the seed-by-seed differences higher − lower and its 95 % t interval; None with < 2 values a side."""
    if len(higher) < 2 or len(lower) < 2:
        return None
    assert len(higher) == len(lower), "paired arms need one value per seed each"
    d = np.asarray(higher, dtype=float) - np.asarray(lower, dtype=float)
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return float(d.mean()), float(d.mean()) - half, float(d.mean()) + half


def check_accuracy_claim(entry: dict, higher: Sequence[float], lower: Sequence[float]) -> None:
    """Assert that a stored accuracy claim has the seed-by-seed difference, its interval and the verdict computed
    here; a claim whose checks failed is not measurable at this scale."""
    computed = paired_interval(higher, lower)
    if computed is None:
        assert entry["measured"] is None and entry["verdict"] == NOT_MEASURABLE, entry
        return
    diff, low, high = computed
    estimate = entry["estimate"]
    assert abs(entry["measured"] - diff) < 1e-9, (entry, diff)
    assert abs(estimate["low"] - low) < 1e-9 and abs(estimate["high"] - high) < 1e-9, (estimate, low, high)
    if not all(entry["checks"].values()):
        assert entry["verdict"] == "not measurable at this scale", entry
    elif low == high == 0:  # every seed's two models score the same: no increase
        assert entry["verdict"] == NOT_REPRODUCED, entry
    elif min(abs(low), abs(high)) > 1e-12:  # a bound at exactly zero is decided by round-off, not by the rule
        # runs judged before the rule declared a negligible change have none
        negligible = entry["rule"].get("negligible", 0.0)
        assert negligible in (0.0, NEGLIGIBLE_ACCURACY_CHANGE), entry["rule"]
        expected = REPRODUCED if low > 0 else NOT_REPRODUCED if high <= negligible else INCONCLUSIVE
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


def check_compute_bound_claims(
    claims: Sequence[dict],
    rows: Sequence[dict],
    declared: dict,
    width: int,
    paths: Sequence[str],
    parameter: str,
) -> None:
    """Assert every compute-bound speed claim against the recorded paired rounds at `width`: the median and its
    order-statistic interval recomputed here, the verdict from them; a path not timed names `parameter`."""
    by_id = {c["id"]: c for c in claims}
    for (path, measure), claim in declared.items():
        entry = by_id[claim.id]
        if path not in paths:
            assert entry["verdict"] == "not measurable here" and parameter in entry["reason"], entry
            continue
        batch = 1 if measure == "latency_b1" else 64
        (row,) = [x for x in rows if (x["path"], x["width"], x["batch"]) == (path, width, batch)]
        low, high = median_rounds_interval(row["round_speedups"])
        assert entry["measured"] == pytest.approx(float(np.median(row["round_speedups"])))
        assert (entry["estimate"]["low"], entry["estimate"]["high"]) == pytest.approx((low, high))
        assert entry["verdict"] == efficiency_verdict(low, high), (claim.id, entry)


def check_cnn_deployment_study(
    claims: Sequence[dict], results: dict, technique: str, labels: tuple[str, str], declared: dict
) -> None:
    """Assert a CNN deployment study of notebook 04 or 05: every path, width and batch timed with its rounds, the
    candidate doing less arithmetic, every identity call, and the compute-bound claims recomputed."""
    from helpers.compression.claims import COMPUTE_BOUND_WIDTH_MULT
    from helpers.compression.models import scaled_widths

    rows = results[f"{technique}.paths.timings"]
    widths = {scaled_widths(m)[-1] for m in results["params.deploy_width_mults"]}
    paths = results["params.deploy_paths"]
    assert {(x["path"], x["width"], x["batch"]) for x in rows} == {
        (p, w, b) for p in paths for w in widths for b in (1, 64)
    }
    for row in rows:
        assert row["macs_ratio"] > 1.5, f"the {labels[1]} CNN does less arithmetic: {row}"
        assert row[f"{labels[0]}_ms"] > 0 and row[f"{labels[1]}_ms"] > 0
        assert len(row["round_speedups"]) == results["params.deploy_rounds"]
    floors = results[f"{technique}.paths.identity_calls"]
    assert {(f["path"], f["batch"]) for f in floors} == {(p, b) for p in paths for b in (1, 64)}
    width = scaled_widths(COMPUTE_BOUND_WIDTH_MULT)[-1]
    check_compute_bound_claims(claims, rows, declared, width, paths, "deploy_paths")
