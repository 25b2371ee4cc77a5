"""Scales rewards by a running standard deviation of discounted returns (PPO-style).

For each agent the wrapper keeps a discounted return ``G <- 0.99 * G + r`` over the current
episode (reset to 0 at each episode's start) and the running variance of ``G`` over every
step seen so far; each reward is divided by ``sqrt(var + 1e-8)``. The mean is not
subtracted, so a reward keeps its sign (and zero stays zero), and nothing is clipped.
Until two returns have been seen the scale is 1. The FIRST timestep's rewards (zeros by
contract) are passed through and not counted.

This is the "reward scaling" of Engstrom et al. 2020 (``VecNormalize`` in baselines): it
puts returns of very different magnitudes on a comparable scale for value learning.
Returns and metrics logged by the system are computed from the scaled rewards; the
statistics are per environment (each executor's and the evaluator's). Executors save
theirs with the run's checkpoints: a resumed executor continues from them and
``mava evaluate`` uses all executors' statistics merged (the running returns of the
episode in progress are not saved: an episode starts them at zero).
"""
from __future__ import annotations

from typing import Dict

import dm_env
import numpy as np

from mava_core.environment import EnvironmentWrapper
from mava_plugins.wrappers.running_stats import RunningMeanStd, merge_statistics, restore_statistics

GAMMA = 0.99
EPSILON = 1e-8


class RewardNormalisationWrapper(EnvironmentWrapper):
    state_key = "reward_normalisation"

    def __init__(self, environment, gamma: float = GAMMA):
        super().__init__(environment)
        agents = environment.multi_agent_spec().agent_ids
        self._gamma = float(gamma)
        self._stats: Dict[str, RunningMeanStd] = {agent: RunningMeanStd() for agent in agents}
        self._returns: Dict[str, float] = dict.fromkeys(agents, 0.0)

    def scale(self, agent: str) -> float:
        """The divisor currently applied to ``agent``'s rewards."""
        stats = self._stats[agent]
        return float(np.sqrt(stats.var + EPSILON)) if stats.count >= 2 else 1.0

    def own_state(self) -> Dict[str, dict]:
        return {agent: stats.to_dict() for agent, stats in self._stats.items()}

    def restore_own_state(self, state) -> None:
        restore_statistics(self._stats, state, str, "agents")

    def merge_own_states(self, states) -> Dict[str, dict]:
        return merge_statistics(states)

    def reset(self) -> dm_env.TimeStep:
        self._returns = dict.fromkeys(self._returns, 0.0)
        return self._environment.reset()

    def step(self, actions) -> dm_env.TimeStep:
        timestep = self._environment.step(actions)
        if timestep.first():  # stepping after LAST started a new episode
            self._returns = dict.fromkeys(self._returns, 0.0)
            return timestep
        rewards = {}
        for agent, reward in timestep.reward.items():
            self._returns[agent] = self._gamma * self._returns[agent] + float(reward)
            self._stats[agent].update(self._returns[agent])
            rewards[agent] = np.float32(float(reward) / self.scale(agent))
        return timestep._replace(reward=rewards)
