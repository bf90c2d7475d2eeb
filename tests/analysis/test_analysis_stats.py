"""mean_ci / diff_ci against hand formulas, scipy's own intervals, and seeded coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from reglab.analysis import diff_ci, mean_ci


def test_mean_ci_known_case():
    mean, low, high = mean_ci([1, 2, 3, 4, 5])
    half = 2.7764451051977934 * math.sqrt(2.5) / math.sqrt(5)  # t_{0.975,4} * s / sqrt(n)
    assert mean == 3.0
    assert low == pytest.approx(3.0 - half, abs=1e-12)
    assert high == pytest.approx(3.0 + half, abs=1e-12)
    assert half == pytest.approx(1.9633, abs=1e-4)


def test_mean_ci_matches_scipy_interval_at_other_confidence():
    values = [0.61, 0.66, 0.64, 0.70, 0.59, 0.65]
    mean, low, high = mean_ci(values, confidence=0.9)
    ref = stats.t.interval(0.9, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values), abs=1e-15)
    assert (low, high) == pytest.approx(ref, abs=1e-12)


def test_mean_ci_single_value_is_undefined():
    mean, low, high = mean_ci([0.66])
    assert mean == 0.66 and math.isnan(low) and math.isnan(high)


def test_mean_ci_constant_values_collapse():
    assert mean_ci([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, float("nan"), True])
def test_mean_ci_rejects_bad_confidence(confidence):
    with pytest.raises(ValueError) as exc:
        mean_ci([1, 2], confidence=confidence)
    assert str(exc.value) == (
        f"Invalid value for argument `confidence`. Expected a number in (0, 1). "
        f"Received: confidence={confidence!r}"
    )


def test_mean_ci_rejects_empty_and_non_finite():
    with pytest.raises(ValueError) as exc:
        mean_ci([])
    assert str(exc.value) == (
        "Invalid value for argument `values`. Expected a non-empty sequence of finite numbers. "
        "Received: values=[]"
    )
    with pytest.raises(ValueError) as exc:
        mean_ci([1.0, float("nan")])
    assert str(exc.value) == (
        "Invalid value for argument `values`. Expected a non-empty sequence of finite numbers. "
        "Received: values=[1.0, nan]"
    )


def test_diff_ci_is_welch_interval():
    a, b = [1, 2, 3, 4], [2, 4, 7]
    d, low, high = diff_ci(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert d == pytest.approx(2.5 - 13 / 3, abs=1e-12)
    assert (low, high) == pytest.approx((ref.low, ref.high), abs=1e-10)
    # By hand: Welch-Satterthwaite degrees of freedom.
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 3
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert (low, high) == pytest.approx((d - half, d + half), abs=1e-12)


def test_diff_ci_single_seed_and_zero_spread():
    d, low, high = diff_ci([0.7], [0.6, 0.62])
    assert d == pytest.approx(0.09) and math.isnan(low) and math.isnan(high)
    assert diff_ci([0.7, 0.7], [0.6, 0.6]) == pytest.approx((0.1, 0.1, 0.1))


def test_diff_ci_rejects_empty_side():
    with pytest.raises(ValueError) as exc:
        diff_ci([0.5, 0.6], [])
    assert str(exc.value) == (
        "Invalid value for argument `b`. Expected a non-empty sequence of finite numbers. "
        "Received: b=[]"
    )


def test_coverage_is_nominal_seeded():
    """Over 4000 seeded replicates the 95% intervals cover the truth 95% of the time, within 3
    binomial standard errors (sqrt(0.95 * 0.05 / 4000) = 0.0034)."""
    rng = np.random.default_rng(0)
    reps, tol = 4000, 3 * math.sqrt(0.95 * 0.05 / 4000)
    hit_mean = hit_diff = 0
    for _ in range(reps):
        x = rng.normal(1.0, 2.0, size=5)
        y = rng.normal(0.0, 0.5, size=7)  # unequal variances: where Welch matters
        _, lo, hi = mean_ci(x.tolist())
        hit_mean += lo <= 1.0 <= hi
        _, lo, hi = diff_ci(x.tolist(), y.tolist())
        hit_diff += lo <= 1.0 <= hi
    assert abs(hit_mean / reps - 0.95) < tol
    assert abs(hit_diff / reps - 0.95) < tol


def test_paired_interval_equals_scipy_ttest_rel():
    import scipy.stats

    from reglab.analysis.stats import paired_diff_ci

    a = [0.712, 0.698, 0.731, 0.705, 0.720]
    b = [0.690, 0.701, 0.702, 0.688, 0.699]
    ref = scipy.stats.ttest_rel(a, b)
    ci = ref.confidence_interval(0.95)
    d, low, high, p = paired_diff_ci(a, b)
    assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert d == pytest.approx(sum(a) / 5 - sum(b) / 5) and p == pytest.approx(ref.pvalue, abs=1e-12)
    ci90 = ref.confidence_interval(0.90)
    assert paired_diff_ci(a, b, 0.90)[1:3] == pytest.approx((ci90.low, ci90.high), abs=1e-12)
    with pytest.raises(ValueError) as exc:
        paired_diff_ci(a, b[:4])
    assert str(exc.value) == ("Invalid value for argument `b`. Expected 5 values (one per value of a, "
                              "same seeds). Received: 4 values")


def test_holm_textbook_case():
    """Holm (1979): p-values 0.01, 0.04, 0.03, 0.005 over four hypotheses. Sorted 0.005, 0.01,
    0.03, 0.04 are multiplied by 4, 3, 2, 1 (0.02, 0.03, 0.06, 0.04) and made monotone (0.02,
    0.03, 0.06, 0.06): at 0.05 only the two smallest are rejected."""
    from reglab.analysis.stats import holm

    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02], abs=1e-15)
    assert holm([0.5, math.nan, 0.9]) == pytest.approx([1.0, math.nan, 1.0], nan_ok=True)
    assert holm([]) == []
    with pytest.raises(ValueError) as exc:
        holm([0.2, 1.5])
    assert str(exc.value) == ("Invalid value for argument `p_values`. Expected numbers in [0, 1] (or nan). "
                              "Received: p_values=[0.2, 1.5]")
