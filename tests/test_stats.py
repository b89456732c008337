"""helpers.core.stats: mean/std and the Welch standard error of a difference, against hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from helpers.core.stats import Difference, MeanStd, mean_std, welch


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
