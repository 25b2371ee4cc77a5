"""Standardises observations with a running mean and variance.

Each observation is replaced by ``clip((obs - mean) / sqrt(var + 1e-8), -5, 5)``, where mean
and variance are running elementwise statistics of every observation this environment has
returned (reset and step alike; the statistics are updated with a step's observations
before they are normalised). Agents of one type (``agent_type``: ``adversary_0`` and
``adversary_1`` are both ``adversary``) with the same observation shape share statistics,
as they share weights under weight sharing; agents of different types keep their own.

Shapes are unchanged; observations are returned as float32 (the spec's dtype becomes float32
if it was not). Every environment of a run (each executor's, the evaluator's) keeps its own
statistics. Executors save theirs with the run's checkpoints (``saved_state``): a resumed
executor continues from them, and ``mava evaluate`` normalises with all executors'
statistics merged. The in-run evaluator keeps statistics of its own evaluation episodes.
When combined with ``death_masking`` list that wrapper after this one, so the zeros a dead
agent sees are not folded into the statistics (and stay zeros).
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Tuple

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import EnvironmentWrapper
from mava_core.specs import AgentObservation, MultiAgentSpec, agent_type
from mava_plugins.wrappers.running_stats import RunningMeanStd, merge_statistics, restore_statistics

CLIP = 5.0
EPSILON = 1e-8


def _group_name(key: Tuple[str, tuple]) -> str:
    kind, shape = key
    return f"{kind}{list(shape)}"


class ObservationNormalisationWrapper(EnvironmentWrapper):
    state_key = "observation_normalisation"

    def __init__(self, environment):
        super().__init__(environment)
        inner = environment.multi_agent_spec()
        agents = {}
        self._group: Dict[str, Tuple[str, tuple]] = {}
        self._stats: Dict[Tuple[str, tuple], RunningMeanStd] = {}
        for agent, agent_spec in inner.agents.items():
            shape = tuple(agent_spec.observation.shape)
            observation = specs.Array(shape, np.float32, agent_spec.observation.name)
            agents[agent] = dataclasses.replace(agent_spec, observation=observation)
            key = (agent_type(agent), shape)
            self._group[agent] = key
            self._stats.setdefault(key, RunningMeanStd(shape))
        self._spec = dataclasses.replace(inner, agents=agents)

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def statistics(self, agent: str) -> RunningMeanStd:
        """The running statistics that normalise ``agent``'s observations."""
        return self._stats[self._group[agent]]

    def own_state(self) -> Dict[str, dict]:
        return {_group_name(key): stats.to_dict() for key, stats in self._stats.items()}

    def restore_own_state(self, state) -> None:
        restore_statistics(self._stats, state, _group_name, "agents of type and observation shape")

    def merge_own_states(self, states) -> Dict[str, dict]:
        return merge_statistics(states)

    def _convert(self, timestep: dm_env.TimeStep) -> dm_env.TimeStep:
        for agent, obs in timestep.observation.items():
            self._stats[self._group[agent]].update(obs.observation)
        observations = {}
        for agent, obs in timestep.observation.items():
            stats = self._stats[self._group[agent]]
            normalised = (np.asarray(obs.observation, np.float64) - stats.mean) / np.sqrt(stats.var + EPSILON)
            observations[agent] = AgentObservation(np.clip(normalised, -CLIP, CLIP).astype(np.float32), obs.action_mask)
        return timestep._replace(observation=observations)

    def reset(self) -> dm_env.TimeStep:
        return self._convert(self._environment.reset())

    def step(self, actions) -> dm_env.TimeStep:
        return self._convert(self._environment.step(actions))
