"""Running mean and variance (Chan et al.'s parallel update of Welford's algorithm)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Sequence

import numpy as np


class RunningMeanStd:
    """Mean and (population) variance of every sample seen so far, elementwise, in float64.

    ``to_dict`` / ``from_dict`` turn the statistics into JSON-ready values and back (they are
    saved with a run's checkpoints), and :meth:`merged` combines statistics gathered apart
    (e.g. by several executors) into those of all their samples together.
    """

    def __init__(self, shape=()):
        self.mean = np.zeros(shape, np.float64)
        self.var = np.zeros(shape, np.float64)
        self.count = 0

    def update(self, sample: np.ndarray) -> None:
        """Add one sample of ``shape``."""
        sample = np.asarray(sample, np.float64)
        self.count += 1
        delta = sample - self.mean
        self.mean = self.mean + delta / self.count
        # var_n = var_{n-1} + (delta * (x - mean_n) - var_{n-1}) / n
        self.var = self.var + (delta * (sample - self.mean) - self.var) / self.count

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var)

    @property
    def shape(self) -> tuple:
        return tuple(self.mean.shape)

    def to_dict(self) -> Dict[str, Any]:
        """``{"count", "mean", "var"}`` as plain numbers and (nested) lists."""
        return {"count": int(self.count), "mean": self.mean.tolist(), "var": self.var.tolist()}

    @classmethod
    def from_dict(cls, values: Any, shape=None) -> "RunningMeanStd":
        """Statistics from :meth:`to_dict`'s output; a ValueError says what does not fit ``shape``."""
        if not isinstance(values, dict) or set(values) != {"count", "mean", "var"}:
            raise ValueError(f"expected a mapping with keys count, mean and var, got {_describe(values)}")
        try:
            mean = np.asarray(values["mean"], np.float64)
            var = np.asarray(values["var"], np.float64)
            count = int(values["count"])
        except (TypeError, ValueError) as error:
            raise ValueError(f"count, mean or var is not numeric: {error}") from None
        if shape is not None and mean.shape != tuple(shape):
            raise ValueError(f"the saved statistics have shape {mean.shape}, this environment's have {tuple(shape)}")
        if var.shape != mean.shape:
            raise ValueError(f"mean has shape {mean.shape} but var has {var.shape}")
        if count < 0 or not np.all(np.isfinite(mean)) or not np.all(np.isfinite(var)) or np.any(var < 0):
            raise ValueError("the count is negative, or mean or var is not finite, or var is negative")
        stats = cls(mean.shape)
        stats.mean, stats.var, stats.count = mean, var, count
        return stats

    @classmethod
    def merged(cls, parts: Sequence["RunningMeanStd"]) -> "RunningMeanStd":
        """The statistics of all of ``parts``' samples together (Chan et al.'s pairwise combination)."""
        if not parts:
            raise ValueError("nothing to merge")
        total = cls(parts[0].shape)
        for part in parts:
            if part.shape != total.shape:
                raise ValueError(f"cannot merge statistics of shapes {total.shape} and {part.shape}")
            if part.count == 0:
                continue
            count = total.count + part.count
            delta = part.mean - total.mean
            mean = total.mean + delta * (part.count / count)
            m2 = total.var * total.count + part.var * part.count + delta**2 * (total.count * part.count / count)
            total.mean, total.var, total.count = mean, m2 / count, count
        return total


def restore_statistics(stats: Dict[Any, RunningMeanStd], saved: Any, name: Callable[[Any], str], what: str) -> None:
    """Replace every entry of ``stats`` with its saved counterpart in ``saved`` (keyed by ``name(key)``).

    All or nothing: a ValueError names the first entry that is missing, extra or does not fit,
    and ``stats`` is left as it was.
    """
    if not isinstance(saved, dict):
        raise ValueError(f"expected a mapping of statistics by {what}, got {_describe(saved)}")
    names = {name(key): key for key in stats}
    missing, extra = sorted(set(names) - set(saved)), sorted(set(saved) - set(names))
    if missing or extra:
        raise ValueError(
            f"the saved statistics are for {what} {sorted(saved)}, this environment has {sorted(names)}"
        )
    restored = {}
    for label, key in names.items():
        try:
            restored[key] = RunningMeanStd.from_dict(saved[label], stats[key].shape)
        except ValueError as error:
            raise ValueError(f"{label}: {error}") from None
    stats.update(restored)


def merge_statistics(states: Sequence[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """Statistics by name merged over several saved states (each as written by ``to_dict``)."""
    names = []
    for state in states:
        names += [n for n in state if n not in names]
    merged = {}
    for label in names:
        try:
            parts = [RunningMeanStd.from_dict(state[label]) for state in states if label in state]
            merged[label] = RunningMeanStd.merged(parts).to_dict()
        except ValueError as error:
            raise ValueError(f"{label}: {error}") from None
    return merged


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return f"keys {sorted(map(str, value))}"
    return type(value).__name__
