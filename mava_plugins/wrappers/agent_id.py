"""Appends a one-hot agent index to every agent's observation.

Agents that share weights otherwise see the world through the same network with no way to
tell themselves apart; the index lets a shared network specialise per agent.
"""
from __future__ import annotations

import dataclasses

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import EnvironmentWrapper
from mava_core.specs import AgentObservation, MultiAgentSpec


class AgentIdWrapper(EnvironmentWrapper):
    def __init__(self, environment):
        super().__init__(environment)
        inner = environment.multi_agent_spec()
        count = inner.num_agents
        self._ids = {agent: np.eye(count, dtype=np.float32)[index] for index, agent in enumerate(inner.agents)}
        agents = {}
        for agent, agent_spec in inner.agents.items():
            shape = (int(np.prod(agent_spec.observation.shape)) + count,)
            observation = specs.Array(shape, np.float32, agent_spec.observation.name)
            agents[agent] = dataclasses.replace(agent_spec, observation=observation)
        self._spec = dataclasses.replace(inner, agents=agents)

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _convert(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
        observations = {
            agent: AgentObservation(
                np.concatenate([np.ravel(obs.observation).astype(np.float32, copy=False), self._ids[agent]]),
                obs.action_mask,
            )
            for agent, obs in timestep.observation.items()
        }
        return timestep._replace(observation=observations)

    def reset(self) -> dm_env.TimeStep:
        return self._convert(self._environment.reset())

    def step(self, actions) -> dm_env.TimeStep:
        return self._convert(self._environment.step(actions))
