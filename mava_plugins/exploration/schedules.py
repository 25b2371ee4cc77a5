"""Epsilon schedules: ``value(env_steps)`` gives the exploration rate after that many steps."""
from __future__ import annotations

import dataclasses

from mava_core.config import bounded


class LinearEpsilon:
    @dataclasses.dataclass
    class Config:
        start: float = bounded(1.0, minimum=0.0, maximum=1.0)
        end: float = bounded(0.05, minimum=0.0, maximum=1.0)
        decay_steps: int = bounded(20_000, minimum=1, help="environment steps (all executors) to go from start to end")

    def __init__(self, config: "LinearEpsilon.Config"):
        self.config = config

    def value(self, step: int) -> float:
        c = self.config
        fraction = min(1.0, max(0, step) / c.decay_steps)
        return c.start + fraction * (c.end - c.start)


class ExponentialEpsilon:
    @dataclasses.dataclass
    class Config:
        start: float = bounded(1.0, minimum=0.0, maximum=1.0)
        end: float = bounded(0.05, minimum=0.0, maximum=1.0)
        half_life: int = bounded(5_000, minimum=1, help="environment steps for (epsilon - end) to halve")

    def __init__(self, config: "ExponentialEpsilon.Config"):
        self.config = config

    def value(self, step: int) -> float:
        c = self.config
        return c.end + (c.start - c.end) * 0.5 ** (max(0, step) / c.half_life)


class ConstantEpsilon:
    @dataclasses.dataclass
    class Config:
        value: float = bounded(0.05, minimum=0.0, maximum=1.0)

    def __init__(self, config: "ConstantEpsilon.Config"):
        self.config = config

    def value(self, step: int) -> float:  # noqa: ARG002 - same signature as the other schedules
        return self.config.value
