"""Aggregate estimators across runs, after Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice".

Scores come as one 1-d array per task (the runs, i.e. seeds, of one system on that task).
Point estimates use every run of every task; interval estimates use the *stratified*
bootstrap: each replicate resamples runs with replacement within every task (the strata),
so each task keeps its number of runs. Intervals are percentile intervals. Every function
takes a seeded ``numpy.random.Generator`` so a report is reproducible.

This is written here rather than taken from ``rliable``: rliable needs ``arch``,
``statsmodels`` and ``seaborn`` (eight new packages with their dependencies), more than the
few estimators below.
"""
from __future__ import annotations

from typing import Callable, Sequence, Tuple

import numpy as np

Strata = Sequence[np.ndarray]
#: a statistic maps [replicates, runs] (all strata concatenated) to [replicates]
Statistic = Callable[[np.ndarray], np.ndarray]


def _check(strata: Strata) -> list:
    arrays = [np.asarray(s, np.float64).ravel() for s in strata]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("every task needs at least one run's score")
    return arrays


def iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean along the last axis: the mean of the middle runs, ``floor(n / 4)`` cut at each end.

    The same trimming as ``scipy.stats.trim_mean(scores, 0.25)``.
    """
    scores = np.sort(np.asarray(scores, np.float64), axis=-1)
    n = scores.shape[-1]
    cut = int(0.25 * n)
    return scores[..., cut: n - cut].mean(axis=-1)


def mean(scores: np.ndarray) -> np.ndarray:
    return np.asarray(scores, np.float64).mean(axis=-1)


def median(scores: np.ndarray) -> np.ndarray:
    return np.median(np.asarray(scores, np.float64), axis=-1)


def stratified_resample(strata: Strata, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """``[replicates, total runs]``: each row resamples every task's runs with replacement, tasks side by side."""
    arrays = _check(strata)
    columns = [a[rng.integers(0, a.size, size=(replicates, a.size))] for a in arrays]
    return np.concatenate(columns, axis=1)


def point_and_interval(
    strata: Strata, statistic: Statistic, rng: np.random.Generator, replicates: int = 2000, confidence: float = 0.95
) -> Tuple[float, float, float]:
    """The statistic of all runs and its stratified-bootstrap percentile interval: ``(point, low, high)``."""
    arrays = _check(strata)
    point = float(statistic(np.concatenate(arrays)[None, :])[0])
    values = statistic(stratified_resample(arrays, replicates, rng))
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return point, float(low), float(high)


def probability_of_improvement_point(x_strata: Strata, y_strata: Strata) -> float:
    """``P(X > Y)``: per task, the chance a run of X beats a run of Y (ties count half); averaged over tasks."""
    xs, ys = _check(x_strata), _check(y_strata)
    if len(xs) != len(ys):
        raise ValueError(f"both systems need the same tasks ({len(xs)} vs {len(ys)})")
    per_task = [np.mean((x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])) for x, y in zip(xs, ys)]
    return float(np.mean(per_task))


def probability_of_improvement(
    x_strata: Strata, y_strata: Strata, rng: np.random.Generator, replicates: int = 2000, confidence: float = 0.95
) -> Tuple[float, float, float]:
    """``P(X > Y)`` and its interval: X's and Y's runs resampled independently within every task."""
    xs, ys = _check(x_strata), _check(y_strata)
    point = probability_of_improvement_point(xs, ys)
    per_task = []
    for x, y in zip(xs, ys):
        bx = x[rng.integers(0, x.size, size=(replicates, x.size))]  # [R, n]
        by = y[rng.integers(0, y.size, size=(replicates, y.size))]  # [R, m]
        wins = (bx[:, :, None] > by[:, None, :]) + 0.5 * (bx[:, :, None] == by[:, None, :])
        per_task.append(wins.mean(axis=(1, 2)))
    values = np.mean(per_task, axis=0)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return point, float(low), float(high)


def performance_profile(
    strata: Strata, thresholds: np.ndarray, rng: np.random.Generator, replicates: int = 2000, confidence: float = 0.95
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of runs scoring above each threshold (tasks weighted equally), with its interval band.

    Returns ``(profile, low, high)``, each ``[len(thresholds)]``.
    """
    arrays = _check(strata)
    thresholds = np.asarray(thresholds, np.float64)

    def profile(columns: Sequence[np.ndarray]) -> np.ndarray:  # columns: per task [R, n]
        return np.mean([(c[..., None] > thresholds).mean(axis=-2) for c in columns], axis=0)

    point = profile([a[None, :] for a in arrays])[0]
    resampled = [a[rng.integers(0, a.size, size=(replicates, a.size))] for a in arrays]
    values = profile(resampled)  # [R, thresholds]
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail], axis=0)
    return point, low, high
