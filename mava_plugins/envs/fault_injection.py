"""An environment that raises on purpose: the fault-injection knob of the ``debug`` family.

``env.fail_after_steps=N`` makes each debug environment instance raise ``InjectedFault``
from its N-th ``step()`` call; ``env.fail_on_seeds=[s, ...]`` limits that to the instances
made with one of those seeds (an executor's environment seed is
``SystemBuilder.executor_seed(index, evaluation=False)``). Tests use it to check what a run
does when one executor's environment fails (``run.on_executor_error``).
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

from mava_core.environment import EnvironmentWrapper, MultiAgentEnvironment
from mava_core.errors import ConfigError


class InjectedFault(RuntimeError):
    """The error a fault-injected environment raises."""


class FailingEnvironment(EnvironmentWrapper):
    """Passes everything through; ``step()`` number ``fail_after_steps`` raises ``InjectedFault``."""

    def __init__(self, environment: MultiAgentEnvironment, fail_after_steps: int):
        super().__init__(environment)
        self._fail_after_steps = fail_after_steps
        self.steps = 0

    def step(self, actions):
        self.steps += 1
        if self.steps >= self._fail_after_steps:
            raise InjectedFault(f"injected fault at step {self.steps} of this environment (env.fail_after_steps)")
        return self.environment.step(actions)


def split_options(options: Dict[str, Any]) -> Dict[str, Any]:
    """Remove the fault-injection options from ``options`` (in place); returns them, checked."""
    after = options.pop("fail_after_steps", 0)
    seeds = options.pop("fail_on_seeds", None)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ConfigError("env.fail_after_steps", f"must be a non-negative integer (0: never fail), got {after!r}")
    if seeds is not None:
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            seeds = [seeds]
        if not isinstance(seeds, Iterable) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise ConfigError("env.fail_on_seeds", f"must be a list of integer seeds, got {seeds!r}")
        seeds = [int(s) for s in seeds]
    return {"fail_after_steps": after, "fail_on_seeds": seeds}


def maybe_failing(environment: MultiAgentEnvironment, seed: int, fail_after_steps: int, fail_on_seeds: Optional[list]):
    """``environment``, wrapped to fail when the options ask for it at this seed."""
    if fail_after_steps and (fail_on_seeds is None or seed in fail_on_seeds):
        return FailingEnvironment(environment, fail_after_steps)
    return environment
