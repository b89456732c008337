"""helpers.core.stats: mean/std, the Welch standard error of a difference and the one-sided t and binomial margins,
against hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from helpers.core.stats import (
    Difference,
    MeanStd,
    accuracy_difference_lower,
    accuracy_margin,
    binomial_margin,
    mean_std,
    t_margin,
    welch,
)

Z95 = 1.644854  # one-sided 95 % normal quantile
T95_2DOF = 2.919986  # one-sided 95 % t quantile, 2 degrees of freedom


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


def test_t_margin_is_the_t_quantile_times_the_standard_error():
    # [0.50, 0.51, 0.52]: sample std 0.01, three values
    assert t_margin([0.50, 0.51, 0.52]) == pytest.approx(T95_2DOF * 0.01 / math.sqrt(3), rel=1e-5)
    assert t_margin([0.50, 0.51, 0.52], confidence=0.99) > t_margin([0.50, 0.51, 0.52])
    assert t_margin([0.5, 0.5]) == 0.0
    with pytest.raises(ValueError, match="two or more values"):
        t_margin([0.5])


def test_binomial_margin_of_one_proportion_and_of_a_difference():
    assert binomial_margin([0.6], 1000) == pytest.approx(Z95 * math.sqrt(0.24 / 1000), rel=1e-5)
    assert binomial_margin([0.6, 0.5], 1000) == pytest.approx(Z95 * math.sqrt((0.24 + 0.25) / 1000), rel=1e-5)
    assert binomial_margin([0.6], 4000) == pytest.approx(binomial_margin([0.6], 1000) / 2)
    with pytest.raises(ValueError, match="n > 0"):
        binomial_margin([0.6], 0)


def test_accuracy_margin_over_runs_or_from_the_evaluation_set():
    values = [0.50, 0.51, 0.52]
    assert accuracy_margin(values) == t_margin(values)
    assert accuracy_margin(values, n_eval=10) == t_margin(values)  # n_eval only counts with one run
    assert accuracy_margin([0.6], n_eval=1000) == binomial_margin([0.6], 1000)
    with pytest.raises(ValueError, match="pass n_eval"):
        accuracy_margin([0.5])


def test_accuracy_difference_lower_pairs_the_runs():
    # per-run differences [0.30, 0.29, 0.28]: mean 0.29, sample std 0.01
    lower = accuracy_difference_lower([0.8, 0.8, 0.8], [0.50, 0.51, 0.52])
    assert lower == pytest.approx(0.29 - T95_2DOF * 0.01 / math.sqrt(3), rel=1e-5)
    assert accuracy_difference_lower([0.6, 0.7, 0.8], [0.5, 0.6, 0.7]) == pytest.approx(0.1)  # constant gap
    one_run = accuracy_difference_lower([0.6], [0.5], 1000)
    assert one_run == pytest.approx(0.1 - Z95 * math.sqrt((0.24 + 0.25) / 1000), rel=1e-5)
    with pytest.raises(ValueError, match="pass n_eval"):
        accuracy_difference_lower([0.6], [0.5])
