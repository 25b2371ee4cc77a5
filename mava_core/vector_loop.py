"""Vectorised acting: one executor steps K copies of its environment together.

A :class:`VectorEnvironmentLoop` holds one :class:`~mava_core.environment_loop.EnvironmentLoop`
per copy (its own environment, seed, adder, episode returns and lengths) whose executors
share one policy and one variable client. Each call of :meth:`VectorEnvironmentLoop.step_batch`

1. starts an episode in every copy whose last one ended (auto-reset; ``observe_first`` and
   ``mava_env_loop_episode_start`` fire for that copy);
2. chooses the actions of every agent of every copy in **one** call of the policy's
   ``select_actions_batch`` (one compiled network call per step over K x agents);
3. steps each copy with its actions: ``mava_executor_observe`` (its own adder, so each copy's
   Reverb writer is reused across steps), ``mava_executor_update``, ``mava_env_loop_step``
   and, where the episode ended, ``mava_env_loop_episode_end``, exactly as a single loop does.

When a plugin implements ``mava_executor_select_actions`` (to override actions), that hook
is honoured: actions are then chosen copy by copy through it, without batching.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

#: the plugin name of the core's default hook implementations (``mava_core.defaults``)
_CORE_DEFAULTS = "mava_core.defaults"


def overrides_action_selection(hooks: Any) -> bool:
    """Whether some plugin (not the core default) implements ``mava_executor_select_actions``."""
    return any(impl.plugin_name != _CORE_DEFAULTS for impl in hooks.mava_executor_select_actions.get_hookimpls())


class VectorEnvironmentLoop:
    """Steps K environment loops in lockstep with one batched action selection per step."""

    def __init__(self, loops: Sequence[Any], policy: Any, hooks: Any, label: str = "executor"):
        if not loops:
            raise ValueError("a vector loop needs at least one environment loop")
        self.loops = list(loops)
        self.policy = policy
        self.label = label
        self.logger = None
        self._per_copy = overrides_action_selection(hooks)

    @property
    def num_envs(self) -> int:
        return len(self.loops)

    @property
    def executors(self) -> List[Any]:
        return [loop.executor for loop in self.loops]

    @property
    def executor(self) -> Any:
        """The first copy's executor (all copies share its policy and variable client)."""
        return self.loops[0].executor

    @property
    def environments(self) -> List[Any]:
        return [loop.environment for loop in self.loops]

    @property
    def episodes(self) -> int:
        return sum(loop.episodes for loop in self.loops)

    @property
    def steps(self) -> int:
        """Environment steps taken, summed over the copies."""
        return sum(loop.steps for loop in self.loops)

    def select_actions(self, observations: List[Any]) -> List[Dict[str, Any]]:
        """Every copy's actions: one batched policy call, or per copy through an overriding hook."""
        if self._per_copy:
            return [loop.executor.select_actions(obs) for loop, obs in zip(self.loops, observations)]
        return self.policy.select_actions_batch(observations)

    def step_batch(self) -> List[Dict[str, Any]]:
        """One step of every copy; the results of the episodes that ended (``env_copy`` says which copy)."""
        observations = [loop.ready_observations() for loop in self.loops]
        results = []
        for copy, (loop, actions) in enumerate(zip(self.loops, self.select_actions(observations))):
            result = loop.advance(actions)
            if result is not None:
                result["episodes"] = self.episodes  # this executor's episodes, over all copies
                # the executor's rate: every copy stepped once per step of this loop
                result["steps_per_second"] *= self.num_envs
                result["env_copy"] = copy
                results.append(result)
        return results

    def close(self) -> None:
        for loop in self.loops:
            loop.close()
