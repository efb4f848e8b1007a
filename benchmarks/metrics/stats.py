"""Statistics of the summary: rates with Wilson intervals, paired differences, percentiles.

* :func:`wilson` - the 95 % Wilson score interval of a proportion k/n (Wilson 1927),
  which stays inside [0, 1] and is honest for small n and rates near 0 or 1, where the
  normal approximation p ± 1.96·sqrt(p(1-p)/n) is not.
* :func:`paired_proportions` - the difference of two rates measured on the same
  episodes (same scenario, robot and seed), with Newcombe's (1998) interval for paired
  proportions (his method 10: the two Wilson intervals combined with the correlation of
  the pairs).
* :func:`paired_mean` - the mean of paired differences of a continuous quantity, with a
  95 % interval from Student's t (its quantile exact for 1 and 2 degrees of freedom, else
  by the Cornish-Fisher expansion, within 0.005 of the tables).
"""
from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # the 97.5 % quantile of the standard normal


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (low, high) of k successes in n trials; (nan, nan) for
    n = 0."""
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= k <= n:
        raise ValueError(f"wilson: need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(k: int, n: int) -> dict:
    """``{"k", "n", "rate", "ci95"}`` of k events in n episodes."""
    return {"k": int(k), "n": int(n), "rate": k / n if n else math.nan,
            "ci95": list(wilson(k, n))}


def paired_proportions(first: list[bool], second: list[bool]) -> dict:
    """The difference rate(first) - rate(second) over paired outcomes, with Newcombe's
    interval; ``only_first`` and ``only_second`` count the discordant pairs (McNemar's
    b and c)."""
    if len(first) != len(second):
        raise ValueError("paired_proportions: both lists need one entry per pair")
    x, y = np.asarray(first, bool), np.asarray(second, bool)
    n = len(x)
    a, b = int(np.sum(x & y)), int(np.sum(x & ~y))
    c, d = int(np.sum(~x & y)), int(np.sum(~x & ~y))
    result = {"pairs": n, "only_first": b, "only_second": c}
    if n == 0:
        return {**result, "difference": math.nan, "ci95": [math.nan, math.nan]}
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n)
    l2, u2 = wilson(a + c, n)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denominator) if denominator > 0 else 0.0
    theta = p1 - p2
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    eps = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return {**result, "difference": theta, "ci95": [max(-1.0, theta - delta), min(1.0, theta + eps)]}


def t_quantile(p: float, dof: int) -> float:
    """Student's t quantile: exact for 1 and 2 degrees of freedom, else the
    Cornish-Fisher expansion around the normal quantile."""
    if dof == 1:
        return math.tan(math.pi * (p - 0.5))
    if dof == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = _normal_quantile(p)
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / dof + g2 / dof ** 2 + g3 / dof ** 3 + g4 / dof ** 4


def _normal_quantile(p: float) -> float:
    """The standard normal quantile by bisection on erf (exact to 1e-12)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        mid = (low + high) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def paired_mean(first: list[float], second: list[float]) -> dict:
    """Mean of first - second over the pairs where both are finite, with a 95 % t
    interval; the median difference too."""
    x, y = np.asarray(first, float), np.asarray(second, float)
    both = np.isfinite(x) & np.isfinite(y)
    diff = x[both] - y[both]
    n = int(diff.size)
    if n == 0:
        return {"pairs": 0, "mean": math.nan, "median": math.nan, "ci95": [math.nan, math.nan]}
    mean = float(diff.mean())
    if n == 1:
        return {"pairs": 1, "mean": mean, "median": mean, "ci95": [math.nan, math.nan]}
    half = t_quantile(0.975, n - 1) * float(diff.std(ddof=1)) / math.sqrt(n)
    return {"pairs": n, "mean": mean, "median": float(np.median(diff)),
            "ci95": [mean - half, mean + half]}


def distribution(values, worst: str) -> dict:
    """Worst value (``worst`` = "min" or "max"), 5th, 50th and 95th percentiles and the
    count of the finite ``values``; NaN when there are none."""
    array = np.asarray(list(values), float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return {"n": 0, "worst": math.nan, "p5": math.nan, "p50": math.nan, "p95": math.nan}
    p5, p50, p95 = (float(v) for v in np.percentile(array, [5, 50, 95]))
    return {"n": int(array.size), "worst": float(array.min() if worst == "min" else array.max()),
            "p5": p5, "p50": p50, "p95": p95}
