"""The executor lifecycle: observe_first, select_actions, observe and update, each a hook.

An executor acts for every agent of one environment. What it does at each point comes from
the hooks; the core defaults (:mod:`mava_core.defaults`) delegate to its ``policy`` (action
selection), ``adder`` (writing experience) and ``variable_client`` (parameter refresh).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import dm_env


class Executor:
    """Acts in one environment for all agents, through the executor hooks."""

    def __init__(
        self,
        policy: Any,
        hooks: Any,
        adder: Any = None,
        variable_client: Any = None,
        is_evaluator: bool = False,
        state_fn: Any = None,
    ):
        self.policy = policy
        self.adder = adder
        self.variable_client = variable_client
        self.is_evaluator = is_evaluator
        self._hooks = hooks
        self._state_fn = state_fn  # returns the environment's global state, or None
        # a policy may report what it computed for its last actions (log-probabilities,
        # values, recurrent state) through ``extras()``; the adder stores it beside the step
        self._policy_extras = getattr(policy, "extras", None)
        self._select = hooks.mava_executor_select_actions
        self._observe = hooks.mava_executor_observe
        hooks.mava_executor_init(executor=self)

    def use_environment(self, environment: Any) -> None:
        """Read the global state from ``environment`` from now on (after a restart)."""
        if self._state_fn is not None:
            self._state_fn = environment.get_state

    def _extras(self) -> Dict[str, Any]:
        extras = {} if self._state_fn is None else {"state": self._state_fn()}
        if self._policy_extras is not None:
            extras.update(self._policy_extras())
        return extras

    def observe_first(self, timestep: dm_env.TimeStep) -> None:
        self._hooks.mava_executor_observe_first(executor=self, timestep=timestep, extras=self._extras())

    def select_actions(self, observations: Mapping[str, Any]) -> Dict[str, Any]:
        return self._select(executor=self, observations=observations)

    def observe(self, actions: Mapping[str, Any], next_timestep: dm_env.TimeStep) -> None:
        self._observe(executor=self, actions=actions, next_timestep=next_timestep, extras=self._extras())

    def update(self, wait: bool = False) -> None:
        self._hooks.mava_executor_update(executor=self, wait=wait)

    @property
    def exploration_step(self) -> Optional[int]:
        return getattr(self.policy, "step", None)
