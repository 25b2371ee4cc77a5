"""Masks agents that have died (or finished) before the end of the episode.

An agent is dead from the step after the one on which its discount became 0 while the
episode went on (that terminal step itself is passed through unchanged: its reward and
observation belong to the agent's last action). Until the episode ends a dead agent's
observation is zeros, its reward is 0 and its discount 0; its action mask is passed through
as the environment gives it, or all ones when it allows no action (on the terminal step
too), so the agent can still
submit an action that the environment ignores. Learners then see a constant observation for
a dead agent instead of a stale one, and no reward after its death. Everything resets at
the start of the next episode. Shapes and dtypes are unchanged.
"""
from __future__ import annotations

from typing import Set

import dm_env
import numpy as np

from mava_core.environment import EnvironmentWrapper
from mava_core.specs import AgentObservation


class DeathMaskingWrapper(EnvironmentWrapper):
    def __init__(self, environment):
        super().__init__(environment)
        spec = environment.multi_agent_spec()
        self._zeros = {
            agent: np.zeros(a.observation.shape, a.observation.dtype) for agent, a in spec.agents.items()
        }
        self._ones = {agent: np.ones((a.num_actions,), np.float32) for agent, a in spec.agents.items()}
        for zeros in self._zeros.values():
            zeros.flags.writeable = False
        self._dead: Set[str] = set()
        self._newly_dead: Set[str] = set()  # terminated on the last timestep; masked from the next

    @property
    def dead_agents(self) -> Set[str]:
        """Agents masked on the last timestep returned."""
        return set(self._dead)

    def reset(self) -> dm_env.TimeStep:
        self._dead = set()
        timestep = self._environment.reset()
        self._newly_dead = self._terminated(timestep)
        return timestep

    def _terminated(self, timestep: dm_env.TimeStep) -> Set[str]:
        if timestep.last():
            return set()
        return {agent for agent, discount in timestep.discount.items() if float(discount) == 0.0}

    def step(self, actions) -> dm_env.TimeStep:
        timestep = self._environment.step(actions)
        if timestep.first():  # stepping after LAST started a new episode
            self._dead = set()
            self._newly_dead = self._terminated(timestep)
            return timestep
        self._dead |= self._newly_dead
        self._newly_dead = self._terminated(timestep) - self._dead
        if not self._dead and not self._newly_dead:
            return timestep
        observations = dict(timestep.observation)
        rewards = dict(timestep.reward)
        discounts = dict(timestep.discount)
        for agent in self._newly_dead:  # the terminal step: only a mask with no legal action changes
            obs = observations.get(agent)
            if obs is not None and not np.any(obs.action_mask):
                observations[agent] = AgentObservation(obs.observation, self._ones[agent])
        for agent in self._dead:
            if agent in observations:
                mask = observations[agent].action_mask
                if not np.any(mask):
                    mask = self._ones[agent]
                observations[agent] = AgentObservation(self._zeros[agent], mask)
            if agent in rewards:
                rewards[agent] = np.float32(0.0)
            if agent in discounts:
                discounts[agent] = np.float32(0.0)
        return timestep._replace(observation=observations, reward=rewards, discount=discounts)
