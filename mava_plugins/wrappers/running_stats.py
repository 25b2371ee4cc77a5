"""Running mean and variance (Chan et al.'s parallel update of Welford's algorithm)."""
from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Mean and (population) variance of every sample seen so far, elementwise, in float64."""

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
