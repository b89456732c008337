"""Turn measured variants into the verdicts of helpers.compression.claims, with the sentence that explains each.

The number a verdict is computed from and the sentence beside it come from the same `helpers.core.stats` call,
so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from helpers.compression.measure import PairedLatency, VariantResult, efficiency_ratios
from helpers.core.claims import Claim
from helpers.core.results import record
from helpers.core.stats import mean_std, welch

NO_SE = "one seed gives no standard error; run a profile with ≥ 2 seeds (cpu uses ≥ 3)"


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


def assess_efficiency(
    claims: Mapping[str, Claim], reference: VariantResult, variant: VariantResult, paired: PairedLatency
) -> list[dict[str, Any]]:
    """Assess the size, batch-1 latency and batch-64 throughput claims of one technique on `variant`, the two
    latency measures from `paired` (recorded as `paired.<variant>.<field>`)."""
    ratios = efficiency_measures(reference, variant, paired)
    for key, value in paired.to_dict().items():
        record(f"paired.{variant.name}.{key}", value)
    spreads = {"latency_b1": paired.spread("b1"), "throughput_b64": paired.spread("large")}
    entries = []
    for measure, claim in claims.items():
        ratio = ratios[measure]
        if ratio is None:
            entries.append(
                claim.assess(None, missing_reason=f"{measure} was not measured for {variant.name}")
            )
            continue
        note = f"{variant.name} vs {reference.name}: {efficiency_sentence(measure, ratio)}"
        if measure in spreads:
            low, high = spreads[measure]
            note += (
                f" (median of {len(paired.ratios['b1'])} rounds timed alternately with the reference; "
                f"quartiles {low:.2f}–{high:.2f}×)"
            )
        entries.append(claim.assess(ratio, note=note))
    return entries


def what_it_shows(higher: str, lower: str, acc_higher: Sequence[float], acc_lower: Sequence[float]) -> str:
    """One sentence on what the seeds show about `higher` being more accurate than `lower` (points, Welch SE)."""
    a, b = mean_std(acc_higher), mean_std(acc_lower)
    head = f"{higher} {100 * a.mean:.2f}% vs {lower} {100 * b.mean:.2f}%"
    d = welch(acc_higher, acc_lower)
    if d is None:
        return f"{head} (difference {100 * (a.mean - b.mean):+.2f} pts); {NO_SE}."
    text = (
        f"{head}: difference {100 * d.diff:+.2f} pts, standard error {100 * d.se:.2f} pts over "
        f"{d.n_a}+{d.n_b} seeds"
    )
    if d.diff > d.se:
        return f"{text} — the claimed direction, beyond one standard error."
    if d.diff < -d.se:
        return (
            f"{text} — the opposite direction: {lower} is the more accurate one, beyond one standard error."
        )
    return f"{text} — within one standard error: no accuracy change is measurable either way."


def accuracy_gain_beyond_se(higher: Sequence[float], lower: Sequence[float]) -> float | None:
    """(mean(higher) − mean(lower)) − Welch SE: > 0 when `higher` is better beyond its standard error; None with
    fewer than 2 seeds on a side."""
    d = welch(higher, lower)
    return None if d is None else d.beyond_se


def assess_accuracy(
    claim: Claim, higher: str, lower: str, acc_higher: Sequence[float], acc_lower: Sequence[float]
) -> dict[str, Any]:
    """Assess a claim that `higher` is more accurate than `lower`: measured = difference − SE, with the sentence."""
    shows = what_it_shows(higher, lower, acc_higher, acc_lower)
    measured = accuracy_gain_beyond_se(acc_higher, acc_lower)
    if measured is None:
        return claim.assess(None, missing_reason=shows)
    return claim.assess(measured, note=shows)
