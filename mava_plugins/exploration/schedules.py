"""Exploration components: epsilon schedules and action-noise processes.

Every exploration component has ``value(env_steps)``: the exploration rate (epsilon) or the
noise scale (sigma) after that many environment steps, summed over executors.

*Epsilon schedules* (``linear_epsilon``, ``exponential_epsilon``, ``constant_epsilon``) have
only ``value``: a policy takes a uniformly random legal action with probability epsilon.

*Noise components* (``gaussian_noise``, ``ornstein_uhlenbeck``) are for deterministic
policies. Besides ``value`` (the scale ``sigma``) they make one :class:`NoiseProcess` per
agent with ``process(shape, rng)``; a policy calls ``process.reset()`` at the start of each
episode and adds ``process.sample(sigma)`` to its action at each step. Policies add the noise
to actions normalised to ``[-1, 1]`` before scaling them to the action bounds, so ``sigma``
means the same on every task. A component is a noise component when it has ``process``.
"""
from __future__ import annotations

import dataclasses
from typing import Tuple

import numpy as np

from mava_core.config import bounded
from mava_core.errors import ConfigError


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


# ------------------------------------------------------------------------------ noise
class NoiseProcess:
    """Noise for one agent's action vector. ``reset()`` per episode, ``sample(sigma)`` per step."""

    def __init__(self, shape: Tuple[int, ...], rng: np.random.Generator):
        self.shape = tuple(shape)
        self._rng = rng

    def reset(self) -> None:
        """Start of an episode (white noise keeps no state)."""

    def sample(self, sigma: float) -> np.ndarray:
        raise NotImplementedError


class GaussianProcess(NoiseProcess):
    """Independent ``N(0, sigma^2)`` noise at every step."""

    def sample(self, sigma: float) -> np.ndarray:
        return self._rng.normal(0.0, sigma, self.shape)


class OrnsteinUhlenbeckProcess(NoiseProcess):
    """Temporally correlated noise ``x += theta * (-x) * dt + sigma * sqrt(dt) * N(0, 1)``, 0 at reset."""

    def __init__(self, shape: Tuple[int, ...], rng: np.random.Generator, theta: float, dt: float):
        super().__init__(shape, rng)
        self._theta = theta
        self._dt = dt
        self._x = np.zeros(self.shape)

    def reset(self) -> None:
        self._x = np.zeros(self.shape)

    def sample(self, sigma: float) -> np.ndarray:
        self._x = self._x - self._theta * self._x * self._dt + sigma * np.sqrt(self._dt) * self._rng.normal(size=self.shape)
        return self._x.copy()


class GumbelProcess(NoiseProcess):
    """Independent ``Gumbel(0, 1)`` noise scaled by ``sigma`` at every step: added to logits
    before an argmax, it samples the action from ``softmax(logits / sigma)`` (Gumbel-max)."""

    def sample(self, sigma: float) -> np.ndarray:
        return sigma * self._rng.gumbel(0.0, 1.0, self.shape)


def _check_sigma_range(config, prefix: str) -> None:
    if config.sigma_end > config.sigma_start:
        raise ConfigError(f"{prefix}sigma_end", f"must be <= {prefix}sigma_start ({config.sigma_start}), got {config.sigma_end}")


class GaussianNoise:
    """Gaussian action noise whose scale decays linearly from ``sigma_start`` to ``sigma_end``."""

    @dataclasses.dataclass
    class Config:
        sigma_start: float = bounded(0.3, minimum=0.0, help="noise standard deviation at step 0 (normalised actions)")
        sigma_end: float = bounded(0.1, minimum=0.0, help="noise standard deviation after decay_steps")
        decay_steps: int = bounded(50_000, minimum=1, help="environment steps (all executors) to go from start to end")

        def check(self, prefix: str = "") -> None:
            _check_sigma_range(self, prefix)

    def __init__(self, config: "GaussianNoise.Config"):
        self.config = config

    def value(self, step: int) -> float:
        """The noise scale ``sigma`` after ``step`` environment steps."""
        c = self.config
        fraction = min(1.0, max(0, step) / c.decay_steps)
        return c.sigma_start + fraction * (c.sigma_end - c.sigma_start)

    def process(self, shape: Tuple[int, ...], rng: np.random.Generator) -> NoiseProcess:
        return GaussianProcess(shape, rng)


class OrnsteinUhlenbeckNoise(GaussianNoise):
    """Ornstein-Uhlenbeck action noise (DDPG): mean-reverting with rate ``theta``, reset each episode.

    Its scale ``sigma`` follows the same linear schedule as ``gaussian_noise`` (constant by default).
    """

    @dataclasses.dataclass
    class Config:
        theta: float = bounded(0.15, minimum=0.0, help="mean-reversion rate (0: a random walk)")
        sigma_start: float = bounded(0.2, minimum=0.0, help="noise scale at step 0 (normalised actions)")
        sigma_end: float = bounded(0.2, minimum=0.0, help="noise scale after decay_steps")
        decay_steps: int = bounded(50_000, minimum=1, help="environment steps (all executors) to go from start to end")
        dt: float = bounded(1.0, minimum=1e-6, help="time step of the discretised process")

        def check(self, prefix: str = "") -> None:
            _check_sigma_range(self, prefix)
            if self.theta * self.dt > 1.0:
                raise ConfigError(f"{prefix}theta", f"theta * dt must be <= 1 for a stable process, got {self.theta * self.dt}")

    def process(self, shape: Tuple[int, ...], rng: np.random.Generator) -> NoiseProcess:
        return OrnsteinUhlenbeckProcess(shape, rng, self.config.theta, self.config.dt)


def is_noise(exploration) -> bool:
    """Whether an exploration component makes action noise (else it is an epsilon schedule)."""
    return callable(getattr(exploration, "process", None))


class GumbelNoise(GaussianNoise):
    """Discrete actions: the executors sample from the actor's ``softmax(logits / temperature)``
    (Gumbel-max), as the original MADDPG's actors act through their Gumbel-softmax. The
    temperature follows ``gaussian_noise``'s linear schedule (``sigma_start`` to ``sigma_end``)."""

    @dataclasses.dataclass
    class Config(GaussianNoise.Config):
        sigma_start: float = bounded(1.0, minimum=0.0, help="sampling temperature at step 0 (1: the actor's own softmax)")
        sigma_end: float = bounded(1.0, minimum=0.0, help="sampling temperature after decay_steps")

    discrete_only = True

    def process(self, shape: Tuple[int, ...], rng: np.random.Generator) -> NoiseProcess:
        return GumbelProcess(shape, rng)
