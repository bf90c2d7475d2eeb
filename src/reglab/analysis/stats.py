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

* :func:`paired_diff_ci` - the mean of per-seed differences ``a_i - b_i`` with the Student t
  interval of a paired design (arms sharing a seed share initial weights and data order, so the
  seed's own luck cancels in the difference); equals ``scipy.stats.ttest_rel(a, b)``'s interval.
* :func:`holm` - Holm's step-down adjustment of p-values (Holm 1979, "A simple sequentially
  rejective multiple test procedure", Scand. J. Statist. 6): controls the family-wise error rate
  across the arms compared with the baseline, without assuming independence.

Quantiles and p-values come from :mod:`scipy.stats` (``t.ppf``, ``t.sf``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

from reglab._validate import check_range
from reglab.errors import invalid_argument

__all__ = ["mean_ci", "diff_ci", "paired_diff_ci", "welch_p", "holm", "t_quantile"]


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


def _t_p(stat: float, df: float) -> float:
    """Two-sided p-value of a t statistic."""
    from scipy.stats import t

    return float(min(1.0, 2.0 * t.sf(abs(stat), df)))


def paired_diff_ci(
    a: Iterable[float], b: Iterable[float], confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """Mean of the paired differences ``a_i - b_i`` with the paired Student t interval.

    Args:
        a: values of the arm, one per seed.
        b: values of the reference arm for the same seeds, in the same order.
        confidence: the interval's coverage, in (0, 1). Defaults to 0.95.

    Returns:
        ``(difference, low, high, p)``, ``p`` the two-sided p-value of "no difference"; bounds and
        p are ``nan`` with one pair; zero spread collapses the interval (p 0, or 1 at zero).

    Raises:
        ValueError: the sequences differ in length or hold a non-finite value.
    """
    check_range("confidence", confidence, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    va_, vb_ = _values("a", a), _values("b", b)
    if len(va_) != len(vb_):
        raise ValueError(invalid_argument("b", f"{len(va_)} values (one per value of a, same seeds)",
                                          vb_, shown=f"{len(vb_)} values"))
    d = [x - y for x, y in zip(va_, vb_)]
    n = len(d)
    mean, var = _mean_var(d)
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    se = math.sqrt(var / n)
    if se == 0.0:
        return mean, mean, mean, 1.0 if mean == 0 else 0.0
    half = t_quantile(confidence, n - 1) * se
    return mean, mean - half, mean + half, _t_p(mean / se, n - 1)


def welch_p(a: Iterable[float], b: Iterable[float]) -> float:
    """Two-sided p-value of Welch's t test of ``mean(a) == mean(b)``; nan with one value a side."""
    va_, vb_ = _values("a", a), _values("b", b)
    na, nb = len(va_), len(vb_)
    if na < 2 or nb < 2:
        return math.nan
    ma, va = _mean_var(va_)
    mb, vb = _mean_var(vb_)
    qa, qb = va / na, vb / nb
    se2 = qa + qb
    if se2 == 0.0:
        return 1.0 if ma == mb else 0.0
    df = se2**2 / (qa**2 / (na - 1) + qb**2 / (nb - 1))
    return _t_p((ma - mb) / math.sqrt(se2), df)


def holm(p_values: Iterable[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given; nan stays nan (not counted).

    With ``m`` p-values sorted ascending, ``p_(i)`` becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    ps = list(p_values)
    idx = [i for i, p in enumerate(ps) if not math.isnan(p)]
    if any(not 0.0 <= ps[i] <= 1.0 for i in idx):
        raise ValueError(invalid_argument("p_values", "numbers in [0, 1] (or nan)", ps))
    m = len(idx)
    out = [math.nan] * len(ps)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: ps[i])):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        out[i] = running
    return out
