"""Turn measured variants into the verdicts of helpers.compression.claims, with the sentence that explains each.

The number a verdict is computed from and the sentence beside it come from the same `helpers.core.stats` call,
so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from helpers.compression.claims import NEGLIGIBLE_ACCURACY_CHANGE, SPEED_BATCH
from helpers.compression.deployment import PairTiming, timing_of
from helpers.compression.measure import PairedLatency, VariantResult, efficiency_ratios
from helpers.core.claims import Claim
from helpers.core.results import record
from helpers.core.stats import (
    Estimate,
    exact,
    mean_std,
    median_interval,
    paired_difference_interval,
    welch,
)

NO_SE = "one seed gives no interval; run a profile with ≥ 2 seeds (cpu uses ≥ 3)"


def efficiency_measures(
    reference: VariantResult, variant: VariantResult, paired: PairedLatency
) -> dict[str, float | None]:
    """The three judged ratios, each > 1 when the variant is better: size as reference / variant, batch-1 latency
    as reference / variant and batch-64 throughput (images per second) as variant / reference, both from the
    paired run (the medians of its rounds)."""
    if (paired.reference, paired.variant) != (reference.name, variant.name):
        raise ValueError(
            f"The paired latency run timed {paired.variant} against {paired.reference}; time {variant.name} "
            f"against {reference.name} with helpers.compression.measure.paired_latency."
        )
    return {
        "size": efficiency_ratios(reference, variant)["size"],
        "latency_b1": paired.ratio("b1"),
        "throughput_b64": paired.ratio("large"),
    }


def efficiency_sentence(measure: str, ratio: float) -> str:
    """'2.5× smaller' / '0.33× the speed: 3.0× slower' — what a ratio means, in words."""
    better, worse = {
        "size": ("smaller", "larger"),
        "latency_b1": ("faster", "slower"),
        "throughput_b64": ("more images per second", "fewer images per second"),
    }[measure]
    if ratio >= 1:
        return f"{ratio:.2f}× {better}"
    return f"{ratio:.2f}× the reference: {1 / ratio:.2f}× {worse}"


def efficiency_estimates(
    reference: VariantResult, variant: VariantResult, paired: PairedLatency
) -> dict[str, Estimate | None]:
    """The three judged ratios with their uncertainty: size exact (two files), batch-1 latency and batch-64
    throughput as the median of the paired run's rounds with its order-statistic interval."""
    ratios = efficiency_measures(reference, variant, paired)
    rounds = {"latency_b1": "b1", "throughput_b64": "large"}
    return {
        measure: None
        if ratio is None
        else median_interval(paired.ratios[rounds[measure]], "paired rounds")
        if measure in rounds
        else exact(ratio, "ratio of the two serialized files")
        for measure, ratio in ratios.items()
    }


def assess_efficiency(
    claims: Mapping[str, Claim], reference: VariantResult, variant: VariantResult, paired: PairedLatency
) -> list[dict[str, Any]]:
    """Assess the size, batch-1 latency and batch-64 throughput claims of one technique on `variant`, the two
    latency measures from `paired` (recorded as `paired.<variant>.<field>`), each judged on its interval."""
    estimates = efficiency_estimates(reference, variant, paired)
    for key, value in paired.to_dict().items():
        record(f"paired.{variant.name}.{key}", value)
    entries = []
    for measure, claim in claims.items():
        estimate = estimates[measure]
        if estimate is None:
            entries.append(
                claim.assess(None, missing_reason=f"{measure} was not measured for {variant.name}")
            )
            continue
        note = f"{variant.name} vs {reference.name}: {efficiency_sentence(measure, estimate.value)}"
        if estimate.level is not None:
            note += " (rounds timed alternately with the reference)"
        entries.append(claim.assess(estimate, note=note))
    return entries


def assess_compute_bound(
    claims: Mapping[tuple[str, str], Claim],
    timings: Sequence[PairTiming],
    width: int,
    labels: tuple[str, str],
    paths_parameter: str,
    rounds_parameter: str,
) -> list[dict[str, Any]]:
    """Assess compute-bound speed claims, one per path and measure, on the timings at `width`: batch-1 latency and
    batch-64 throughput, each the median speedup of the candidate over the baseline across the paired rounds (a
    path not timed reads not measurable, naming the notebook parameter `paths_parameter` that adds it; an
    inconclusive one names `rounds_parameter`, which sets the rounds)."""
    entries = []
    timed = {t.path for t in timings}
    baseline, candidate = labels
    for (path, measure), claim in claims.items():
        if path not in timed:
            reason = f"{path} was not timed in this run; add it to the study's paths ({paths_parameter})"
            entries.append(claim.assess(None, missing_reason=reason))
            continue
        batch = SPEED_BATCH[measure]
        timing = timing_of(timings, path, width, batch)
        note = (
            f"{path}, width {width}, batch {batch}: {baseline} {timing.baseline_ms:.3g} ms, {candidate} "
            f"{timing.candidate_ms:.3g} ms per call, {efficiency_sentence(measure, timing.speedup.value)} (rounds "
            f"timed alternately)"
        )
        entries.append(claim.assess(timing.speedup, note=note, samples_parameter=rounds_parameter))
    return entries


def _difference_sentence(head: str, kind: str, d: Estimate, seeds: str, lower: str) -> str:
    """'<head>: <kind> +x pts, 95 % interval … over <seeds> seeds: <which side of zero>.'"""
    text = (
        f"{head}: {kind} {100 * d.value:+.2f} pts, {round(100 * d.level)} % interval {100 * d.low:+.2f} to "
        f"{100 * d.high:+.2f} pts over {seeds} seeds"
    )
    if d.low == d.high == 0:
        return f"{text}: both models score exactly the same on every seed, so there is no accuracy change."
    if d.low > 0:
        return f"{text}: the claimed direction, the whole interval above zero."
    if d.high < 0:
        return f"{text}: the opposite direction: {lower} is the more accurate one, the whole interval below zero."
    if d.high <= NEGLIGIBLE_ACCURACY_CHANGE:
        return (
            f"{text}: the interval includes zero and stops short of +{100 * NEGLIGIBLE_ACCURACY_CHANGE:g} pts, so "
            "any change in the claimed direction is negligible."
        )
    return f"{text}: the interval includes zero, so no accuracy change is measurable either way."


def accuracy_gain_beyond_se(higher: Sequence[float], lower: Sequence[float]) -> float | None:
    """(mean(higher) − mean(lower)) − Welch SE, a descriptive margin for tables: > 0 when `higher` is better
    beyond its standard error; None with fewer than 2 seeds on a side."""
    d = welch(higher, lower)
    return None if d is None else d.beyond_se


def what_it_shows(higher: str, lower: str, acc_higher: Sequence[float], acc_lower: Sequence[float]) -> str:
    """One sentence on what the seeds show about `higher` being more accurate than `lower`: the mean per-seed
    difference in points with its 95 % paired t interval, and which side of zero the interval lies on."""
    a, b = mean_std(acc_higher), mean_std(acc_lower)
    head = f"{higher} {100 * a.mean:.2f}% vs {lower} {100 * b.mean:.2f}%"
    if len(acc_higher) < 2:
        return f"{head} (difference {100 * (a.mean - b.mean):+.2f} pts); {NO_SE}."
    d = paired_difference_interval(acc_higher, acc_lower)
    return _difference_sentence(head, "paired difference", d, str(d.n), lower)


def assess_accuracy(
    claim: Claim,
    higher: str,
    lower: str,
    acc_higher: Sequence[float],
    acc_lower: Sequence[float],
    checks: Mapping[str, bool] | None = None,
    seeds_parameter: str | None = None,
) -> dict[str, Any]:
    """Assess a claim that `higher` is more accurate than `lower` on per-seed pairs: the mean paired difference with
    its t interval (inconclusive when it includes zero), 'not measurable at this scale' when a check fails;
    `seeds_parameter` names the notebook parameter that sets the seeds."""
    shows = what_it_shows(higher, lower, acc_higher, acc_lower)
    if len(acc_higher) < 2:
        return claim.assess(None, missing_reason=shows)
    return claim.assess(
        paired_difference_interval(acc_higher, acc_lower),
        note=shows,
        checks=checks,
        samples_parameter=seeds_parameter,
    )
