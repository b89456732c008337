"""helpers.core.stats: mean/std, the Welch standard error of a difference and the interval estimates every verdict
is judged on, against hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from helpers.core.stats import (
    Difference,
    Estimate,
    MeanStd,
    accuracy_difference_interval,
    difference_interval,
    distance_interval,
    exact,
    mean_interval,
    mean_std,
    median_interval,
    proportion_interval,
    ratio_interval,
    single,
    welch,
    welch_interval,
)


def test_mean_std_uses_the_sample_standard_deviation():
    assert mean_std([0.4, 0.6]) == pytest.approx(MeanStd(0.5, math.sqrt(0.02), 2))
    assert mean_std([0.7]) == (0.7, 0.0, 1)
    with pytest.raises(ValueError, match="at least one value"):
        mean_std([])


def test_welch_difference_and_standard_error_by_hand():
    a, b = [0.90, 0.92, 0.94], [0.80, 0.81]
    # a: mean 0.92, sample variance 0.0004; b: mean 0.805, sample variance 0.00005
    d = welch(a, b)
    assert isinstance(d, Difference) and (d.n_a, d.n_b) == (3, 2)
    assert d.diff == pytest.approx(0.115)
    assert d.se == pytest.approx(math.sqrt(0.0004 / 3 + 0.00005 / 2))
    assert d.beyond_se == pytest.approx(0.115 - math.sqrt(0.0004 / 3 + 0.00005 / 2))
    assert welch(b, a).diff == pytest.approx(-0.115) and welch(b, a).se == pytest.approx(d.se)


def test_welch_needs_two_values_a_side():
    assert welch([0.9], [0.8, 0.7]) is None and welch([0.9, 0.8], [0.7]) is None
    assert welch([0.5, 0.5], [0.5, 0.5]) == (0.0, 0.0, 2, 2)


T975_2DOF = 4.302653  # two-sided 95 % t quantile, 2 degrees of freedom


def test_mean_interval_is_the_student_t_interval():
    estimate = mean_interval([0.4, 0.5, 0.6])
    half = T975_2DOF * 0.1 / math.sqrt(3)
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx((0.5, 0.5 - half, 0.5 + half))
    assert (estimate.level, estimate.n, estimate.samples) == (0.95, 3, "seeds")
    with pytest.raises(ValueError, match="two or more seeds"):
        mean_interval([0.5])


def test_proportion_interval_is_wilsons():
    estimate = proportion_interval(0.5, 100)  # Wilson 95 %: 0.5 ± 1.95996·√(0.0025 + 0.000096)/1.0384
    assert (estimate.low, estimate.high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert proportion_interval(1.0, 10).high == 1.0 and proportion_interval(0.0, 10).low == 0.0


def test_median_interval_reports_the_coverage_its_order_statistics_reach():
    estimate = median_interval(list(range(1, 16)))  # n = 15: the 4th smallest and 4th largest, 96.5 %
    assert (estimate.value, estimate.low, estimate.high, estimate.level) == (8, 4, 12, 0.965)
    few = median_interval([3.0, 1.0, 2.0])  # (min, max) reaches only 1 − 2·0.5³
    assert (few.low, few.high, few.level) == (1.0, 3.0, 0.75)


def test_difference_intervals():
    diff = difference_interval([0.9, 0.92, 0.91], [0.88, 0.9, 0.9])
    assert diff.value == pytest.approx(0.05 / 3) and diff.of.startswith("mean paired difference over 3 seeds")
    one = accuracy_difference_interval([0.6], [0.5], 1000)  # two proportions: ± 1.96·√((0.24 + 0.25)/1000)
    assert (one.low, one.high) == pytest.approx(
        (0.1 - 1.959964 * math.sqrt(0.49 / 1000), 0.1 + 1.959964 * math.sqrt(0.49 / 1000))
    )
    welch_diff = welch_interval([0.9, 0.92, 0.91], [0.88, 0.9, 0.9])
    assert welch_diff.value == pytest.approx(0.05 / 3) and welch_diff.low < 0 < welch_diff.high


def test_ratio_distance_and_scaled_estimates():
    ratio = ratio_interval([3, 4, 5], [2, 2, 3])
    assert ratio.value == pytest.approx((1.5 * 2 * 5 / 3) ** (1 / 3)) and ratio.low < ratio.value < ratio.high
    points = proportion_interval(0.55, 1000).scaled(100, -50)
    assert points.value == pytest.approx(5) and points.low == pytest.approx(
        100 * proportion_interval(0.55, 1000).low - 50
    )
    near = distance_interval(mean_interval([0.49, 0.5, 0.52]), 0.5)
    assert near.low == 0 and near.value == pytest.approx(0.01 / 3)
    far = distance_interval(mean_interval([0.60, 0.61, 0.62]), 0.5)
    assert 0 < far.low < far.value < far.high
    assert single(2.0).interval_text() == "no interval (a single measurement)"


def test_an_exact_value_has_no_interval_and_an_estimate_holds_its_value():
    assert exact(3).interval_text() == "exact (computed, no sampling error)"
    with pytest.raises(ValueError, match="lie in its interval"):
        Estimate(2.0, 0.0, 1.0, 0.95, "nonsense")
