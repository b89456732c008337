"""Expected compression verdicts computed here from recorded numbers, independently of helpers' rule code.

The thresholds are the published rule written out again (2× significant, 1.25× partly; accuracy: difference of
means minus the Welch standard error must be > 0), with NumPy instead of helpers.core.stats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_MEASURABLE = (
    "reproduced",
    "partly reproduced",
    "not reproduced",
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


def efficiency_verdict(ratio: float) -> str:
    """The verdict of a 'significant efficiency' ratio (> 1 = better than the reference)."""
    return REPRODUCED if ratio >= 2.0 else PARTLY if ratio >= 1.25 else NOT_REPRODUCED


def accuracy_margin(higher: Sequence[float], lower: Sequence[float]) -> float | None:
    """mean(higher) − mean(lower) − √(var₁/n₁ + var₂/n₂) with sample variances; None with < 2 values a side."""
    a, b = np.asarray(higher, dtype=float), np.asarray(lower, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return None
    return float(a.mean() - b.mean() - np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))


def check_accuracy_claim(entry: dict, higher: Sequence[float], lower: Sequence[float]) -> None:
    """Assert that a stored accuracy claim has the measured number and verdict computed here."""
    margin = accuracy_margin(higher, lower)
    if margin is None:
        assert entry["measured"] is None and entry["verdict"] == NOT_MEASURABLE, entry
        return
    assert entry["measured"] is not None and abs(entry["measured"] - margin) < 1e-9, (entry, margin)
    if abs(margin) > 1e-12:  # a tie at exactly zero is decided by round-off, not by the rule
        assert entry["verdict"] == (REPRODUCED if margin > 0 else NOT_REPRODUCED), (entry, margin)


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
    for measure, ratio in expected.items():
        entry = claims[measure]
        assert abs(entry["measured"] - ratio) < 1e-9 * max(1.0, ratio), (measure, entry, ratio)
        assert entry["verdict"] == efficiency_verdict(ratio), (measure, entry, ratio)


def overfit_accuracies(rows: list[dict], variant: str, setting: float = 0) -> list[float]:
    """Per-seed test accuracies of one variant and setting from a recorded over-fit sweep (`….overfit.rows`)."""
    picked = sorted(
        (r for r in rows if r["variant"] == variant and abs(r["setting"] - setting) < 1e-9),
        key=lambda r: r["seed"],
    )
    assert picked, f"no recorded rows for {variant} at {setting}"
    return [r["test_accuracy"] for r in picked]
