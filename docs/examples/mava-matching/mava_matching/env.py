"""The matching game: every agent picks a symbol; the team scores when all symbols agree."""
from __future__ import annotations

from typing import Any, Dict, List

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError, UnknownNameError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec


class MatchingGame(MultiAgentEnvironment):
    """Each step every agent picks one of ``num_symbols`` symbols.

    Every agent is paid 1 when all agents picked the same symbol, else 0. On even steps the
    last symbol is illegal (its action-mask entry is 0) and picking it pays 0. An agent sees
    one-hot encodings of every agent's previous symbol plus a flag that is 1 on even steps.
    Episodes are cut after ``episode_length`` steps (a time limit, so the discount stays 1).
    """

    def __init__(self, seed: int = 0, num_agents: int = 2, num_symbols: int = 3, episode_length: int = 10):
        for key, value in (("num_agents", num_agents), ("num_symbols", num_symbols), ("episode_length", episode_length)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 2:
                raise ConfigError(f"env.{key}", f"must be an integer >= 2, got {value!r}")
        self._agents = [f"agent_{i}" for i in range(num_agents)]
        self._symbols = num_symbols
        self._length = episode_length
        self._rng = np.random.default_rng(seed)
        obs_size = num_agents * num_symbols + 1
        self._spec = MultiAgentSpec(
            agents={
                agent: AgentSpec(
                    observation=specs.Array((obs_size,), np.float32, f"{agent}_observation"),
                    action=specs.DiscreteArray(num_symbols, dtype=np.int32, name=f"{agent}_action"),
                )
                for agent in self._agents
            },
            state=specs.Array((num_agents * num_symbols,), np.float32, "state"),
            has_action_masks=True,
        )
        self._previous = np.zeros(num_agents, np.int64)
        self._step = 0
        self._matches = 0
        self._reset_next_step = True

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _mask(self) -> np.ndarray:
        mask = np.ones(self._symbols, np.float32)
        if self._step % 2 == 0:
            mask[-1] = 0.0
        return mask

    def _observations(self) -> Dict[str, AgentObservation]:
        observation = np.append(self.get_state(), np.float32(self._step % 2 == 0))
        mask = self._mask()
        return {agent: AgentObservation(observation, mask) for agent in self._agents}

    def get_state(self) -> np.ndarray:
        return np.eye(self._symbols, dtype=np.float32)[self._previous].ravel()

    def reset(self) -> dm_env.TimeStep:
        self._previous = self._rng.integers(0, self._symbols, len(self._agents))
        self._step = 0
        self._matches = 0
        self._reset_next_step = False
        return first_timestep(self._spec, self._observations())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        chosen = np.array([int(actions[agent]) for agent in self._agents])
        legal = self._mask()[chosen].all()
        reward = float(legal and (chosen == chosen[0]).all())
        self._matches += int(reward)
        self._previous = chosen
        self._step += 1
        last = self._step >= self._length
        self._reset_next_step = last
        return next_timestep(
            self._observations(),
            dict.fromkeys(self._agents, reward),
            dict.fromkeys(self._agents, 1.0),
            last,
        )

    def metrics(self) -> Dict[str, float]:
        return {"match_rate": self._matches / max(self._step, 1)}


class MatchingFamily:
    """The ``matching`` family: ``matching:pairs`` (2 agents) and ``matching:trio`` (3 agents)."""

    TASKS = {"pairs": {"num_agents": 2}, "trio": {"num_agents": 3}}
    OPTIONS = ("num_symbols", "episode_length")

    @classmethod
    def tasks(cls) -> List[str]:
        return list(cls.TASKS)

    @classmethod
    def make(cls, task: str, seed: int = 0, **options: Any) -> MatchingGame:
        if task not in cls.TASKS:
            raise UnknownNameError("matching task", task, cls.TASKS)
        for key in options:
            if key not in cls.OPTIONS:
                raise ConfigError(f"env.{key}", f"unknown option for matching:{task}; valid options: {', '.join(cls.OPTIONS)}")
        return MatchingGame(seed=seed, **cls.TASKS[task], **options)
