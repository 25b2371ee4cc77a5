"""Stepping an MPE task's turn-based core directly, instead of through PettingZoo's parallel conversion.

mpe2's ``parallel_env()`` is PettingZoo's ``aec_to_parallel_wrapper`` around
``OrderEnforcingWrapper(AssertOutOfBoundsWrapper(raw_env))`` (``ClipOutOfBoundsWrapper`` for
continuous actions). A parallel step through that stack costs about twice what the simulation
does: every attribute read (``agents``, ``rewards``, ``agent_selection``...) passes through two
or three wrappers' ``__getattr__``, and the conversion asks each agent's observation once more
with ``last()`` before its turn, only to discard it.

:class:`DirectParallelStep` does the conversion's work on the innermost ``raw_env`` itself and
returns the same five dicts as ``aec_to_parallel_wrapper.step``:

* the agents act in turn, each after the same order check as the conversion's;
* each action first gets what the wrappers between would have done to it, in their order:
  ``AssertOutOfBoundsWrapper``'s check (a :class:`~mava_core.errors.MavaError` naming the agent,
  its action and its space, instead of a bare ``AssertionError``) and ``ClipOutOfBoundsWrapper``'s
  clip (with its warning); ``OrderEnforcingWrapper`` only checks that a reset came first, and
  the Mava wrapper always resets through the parallel environment before it steps;
* rewards are summed over the turns, as the conversion sums them;
* the per-turn ``last()`` is skipped: mpe2's ``observe`` is a pure function of the world
  (``scenario.observation``), so that call has no effect but its cost;
* afterwards the parallel wrapper's ``agents`` is brought up to date, so code that reads it
  (or later steps through it) sees the same environment.

It is used only for mpe2 environments (``raw_env`` subclasses ``mpe2``'s ``SimpleEnv``) under
exactly that wrapper stack; :meth:`DirectParallelStep.for_env` returns None for anything else,
and the wrapper then steps through PettingZoo as before. ``tests/test_pettingzoo_direct.py``
checks step-for-step equality with the PettingZoo path on every MPE task.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from mava_core.errors import MavaError

#: (wrapper class name, module it is defined in) of the wrappers whose effect on an action is reproduced here
_ORDER_ENFORCING = ("OrderEnforcingWrapper", "pettingzoo.utils.wrappers.order_enforcing")
_ASSERT_IN_BOUNDS = ("AssertOutOfBoundsWrapper", "pettingzoo.utils.wrappers.assert_out_of_bounds")
_CLIP_TO_BOUNDS = ("ClipOutOfBoundsWrapper", "pettingzoo.utils.wrappers.clip_out_of_bounds")
_KNOWN_WRAPPERS = (_ORDER_ENFORCING, _ASSERT_IN_BOUNDS, _CLIP_TO_BOUNDS)

ActionFilter = Callable[[str, Any], Any]


def _identity(type_: type) -> Tuple[str, str]:
    return type_.__name__, type_.__module__


def _is_mpe_core(env: Any) -> bool:
    try:
        from mpe2._mpe_utils.simple_env import SimpleEnv
    except ImportError:
        return False
    return isinstance(env, SimpleEnv)


def _wrapper_chain(parallel_env: Any) -> Optional[Tuple[List[Tuple[str, str]], Any]]:
    """(the known wrappers from outermost to innermost, the innermost env), or None when the
    environment is not a parallel conversion over only those wrappers."""
    if _identity(type(parallel_env)) != ("aec_to_parallel_wrapper", "pettingzoo.utils.conversions"):
        return None
    chain: List[Tuple[str, str]] = []
    env = getattr(parallel_env, "aec_env", None)
    while env is not None and _identity(type(env)) in _KNOWN_WRAPPERS:
        chain.append(_identity(type(env)))
        env = env.env
    return (chain, env) if env is not None else None


class DirectParallelStep:
    """A parallel step done on an mpe2 task's ``raw_env``; see the module's docstring."""

    def __init__(self, parallel_env: Any, raw_env: Any, wrappers: List[Tuple[str, str]], name: str):
        self._parallel = parallel_env
        self._raw = raw_env
        self._name = name
        self._filters: List[ActionFilter] = []
        for wrapper in wrappers:
            if wrapper == _ASSERT_IN_BOUNDS:
                self._filters.append(self._assert_in_bounds)
            elif wrapper == _CLIP_TO_BOUNDS:
                self._filters.append(self._clip_to_bounds)
        self._spaces = {agent: raw_env.action_space(agent) for agent in raw_env.possible_agents}

    @classmethod
    def for_env(cls, parallel_env: Any, name: str = "pettingzoo") -> Optional["DirectParallelStep"]:
        """A direct step for ``parallel_env`` when it is an mpe2 task under PettingZoo's usual
        wrappers, else None (step it through PettingZoo)."""
        found = _wrapper_chain(parallel_env)
        if found is None:
            return None
        wrappers, raw_env = found
        if not _is_mpe_core(raw_env) or _ORDER_ENFORCING not in wrappers:
            return None
        return cls(parallel_env, raw_env, wrappers, name)

    # ------------------------------------------------------------------ the wrappers' checks
    def _assert_in_bounds(self, agent: str, action: Any) -> Any:
        space = self._spaces[agent]
        if not space.contains(action):
            raise MavaError(f"{self._name}: agent {agent!r}'s action {action!r} is not in its action space {space}")
        return action

    def _clip_to_bounds(self, agent: str, action: Any) -> Any:
        space = self._spaces[agent]
        if action is None or space.contains(action):
            return action
        from pettingzoo.utils.env_logger import EnvLogger

        if np.isnan(action).any():
            EnvLogger.error_nan_action()
        if space.shape != np.shape(action):
            raise MavaError(f"{self._name}: agent {agent!r}'s action has shape {np.shape(action)}, not {space.shape}")
        EnvLogger.warn_action_out_of_bound(action=action, action_space=space, backup_policy="clipping to space")
        return np.clip(action, space.low, space.high)

    # ------------------------------------------------------------------------------ the step
    def __call__(self, actions: Dict[str, Any]):
        """``(observations, rewards, terminations, truncations, infos)``, as the parallel env's ``step``."""
        raw = self._raw
        filters = self._filters
        rewards: Dict[str, Any] = {}
        agents = raw.agents
        for agent in agents:
            if agent != raw.agent_selection:
                raise MavaError(
                    f"{self._name}: expected agent {raw.agent_selection!r} to act, got {agent!r}; "
                    "a parallel step needs the agents to act in one cycle"
                )
            action = actions[agent]
            for check in filters:
                action = check(agent, action)
            raw.step(action)
            turn_rewards = raw.rewards
            for other in raw.agents:
                rewards[other] = rewards.get(other, 0) + turn_rewards[other]
        terminations = dict(raw.terminations)
        truncations = dict(raw.truncations)
        infos = dict(raw.infos)
        observations = {agent: raw.observe(agent) for agent in raw.agents}
        while raw.agents and (raw.terminations[raw.agent_selection] or raw.truncations[raw.agent_selection]):
            raw.step(None)
        self._parallel.agents = raw.agents
        return observations, rewards, terminations, truncations, infos
