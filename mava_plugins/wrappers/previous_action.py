"""Appends each agent's previous action to its observation.

A discrete action is appended one-hot (``num_values`` entries), a continuous action as its
flattened vector; at the start of an episode, and for an agent that did not act on the last
step (turn-based environments), the appended part is zeros. The observation is flattened
and cast to float32, so the spec's shape becomes ``(prod(obs shape) + num_actions,)``.

Without it a feedforward agent cannot see what it (or, in a parallel environment, its
partner under weight sharing) just did; recurrent agents often learn faster with it too.
"""
from __future__ import annotations

import dataclasses
from typing import Dict

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import EnvironmentWrapper
from mava_core.specs import AgentObservation, MultiAgentSpec


class PreviousActionWrapper(EnvironmentWrapper):
    def __init__(self, environment):
        super().__init__(environment)
        inner = environment.multi_agent_spec()
        self._inner_spec = inner
        agents = {}
        for agent, agent_spec in inner.agents.items():
            shape = (int(np.prod(agent_spec.observation.shape)) + agent_spec.num_actions,)
            observation = specs.Array(shape, np.float32, agent_spec.observation.name)
            agents[agent] = dataclasses.replace(agent_spec, observation=observation)
        self._spec = dataclasses.replace(inner, agents=agents)
        self._zeros = {agent: np.zeros((a.num_actions,), np.float32) for agent, a in inner.agents.items()}
        self._previous: Dict[str, np.ndarray] = dict(self._zeros)

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _encode(self, agent: str, action) -> np.ndarray:
        agent_spec = self._inner_spec.agents[agent]
        if agent_spec.discrete:
            encoded = np.zeros((agent_spec.num_actions,), np.float32)
            encoded[int(np.asarray(action).reshape(()))] = 1.0
            return encoded
        return np.asarray(action, np.float32).reshape(agent_spec.num_actions)

    def _convert(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
        observations = {
            agent: AgentObservation(
                np.concatenate([np.ravel(obs.observation).astype(np.float32, copy=False), self._previous[agent]]),
                obs.action_mask,
            )
            for agent, obs in timestep.observation.items()
        }
        return timestep._replace(observation=observations)

    def reset(self) -> dm_env.TimeStep:
        self._previous = dict(self._zeros)
        return self._convert(self._environment.reset())

    def step(self, actions) -> dm_env.TimeStep:
        previous = dict(self._zeros)
        for agent, action in actions.items():
            if agent in previous:
                previous[agent] = self._encode(agent, action)
        timestep = self._environment.step(actions)
        self._previous = dict(self._zeros) if timestep.first() else previous  # stepping after LAST resets
        return self._convert(timestep)
