"""Confidence intervals across seeds: Student t for one arm, Welch for the difference of two.

* :func:`mean_ci` - the mean of ``n`` values with the two-sided Student t interval
  ``mean +- t_{(1+c)/2, n-1} * s / sqrt(n)`` (``s`` the sample standard deviation, ddof=1).
  With one value the interval is undefined: the function returns ``(value, nan, nan)``.
* :func:`diff_ci` - the difference of two means with Welch's t interval (Welch 1947,
  "The generalization of Student's problem when several different population variances are
  involved", Biometrika 34): standard error ``sqrt(s_a^2/n_a + s_b^2/n_b)`` and the
  Welch-Satterthwaite degrees of freedom. It does not assume equal variances, which suits arms
  whose regularization changes the spread across seeds. Undefined (``nan`` bounds) when either
  side has a single value.

Quantiles come from :func:`scipy.stats.t.ppf`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

from reglab._validate import check_range
from reglab.errors import invalid_argument

__all__ = ["mean_ci", "diff_ci", "t_quantile"]


def _values(name: str, values: Iterable[float]) -> list[float]:
    try:
        out = list(values)
    except TypeError:
        raise ValueError(invalid_argument(name, "a non-empty sequence of finite numbers", values)) from None
    if not out or not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v)
                          for v in out):
        raise ValueError(invalid_argument(name, "a non-empty sequence of finite numbers", out))
    return [float(v) for v in out]


def _mean_var(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else math.nan
    return mean, var


def t_quantile(confidence: float, df: float) -> float:
    """The two-sided Student t critical value ``t_{(1+confidence)/2, df}``."""
    from scipy.stats import t

    return float(t.ppf((1.0 + confidence) / 2.0, df))


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student t confidence interval.

    Args:
        values: one number per seed (finite).
        confidence: the interval's coverage, in (0, 1). Defaults to 0.95.

    Returns:
        ``(mean, low, high)``; ``(value, nan, nan)`` for a single value (undefined interval).

    >>> mean, low, high = mean_ci([1, 2, 3, 4, 5])
    >>> round(mean, 3), round(high - mean, 3)   # 2.776 * sqrt(2.5) / sqrt(5)
    (3.0, 1.963)
    """
    check_range("confidence", confidence, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    vals = _values("values", values)
    n = len(vals)
    mean, var = _mean_var(vals)
    if n == 1:
        return mean, math.nan, math.nan
    half = t_quantile(confidence, n - 1) * math.sqrt(var / n)
    return mean, mean - half, mean + half


def diff_ci(
    a: Iterable[float], b: Iterable[float], confidence: float = 0.95
) -> tuple[float, float, float]:
    """``mean(a) - mean(b)`` with Welch's t interval.

    Args:
        a: values of the arm (one per seed).
        b: values of the reference arm (the baseline).
        confidence: the interval's coverage, in (0, 1). Defaults to 0.95.

    Returns:
        ``(difference, low, high)``; the bounds are ``nan`` when either side has one value.
        When both sides have zero spread the interval collapses to the difference.
    """
    check_range("confidence", confidence, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    va_, vb_ = _values("a", a), _values("b", b)
    na, nb = len(va_), len(vb_)
    ma, va = _mean_var(va_)
    mb, vb = _mean_var(vb_)
    diff = ma - mb
    if na < 2 or nb < 2:
        return diff, math.nan, math.nan
    qa, qb = va / na, vb / nb
    se2 = qa + qb
    if se2 == 0.0:
        return diff, diff, diff
    df = se2**2 / (qa**2 / (na - 1) + qb**2 / (nb - 1))
    half = t_quantile(confidence, df) * math.sqrt(se2)
    return diff, diff - half, diff + half
