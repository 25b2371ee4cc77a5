"""``example:coin_game``: two agents on a small grid race for a coin of one agent's colour.

A coin belongs to one agent (its colour). Whoever steps onto it picks it up and gets +1;
if it was the other agent's coin, that agent gets -2. A new coin of a random colour then
appears on a free cell. Actions (discrete, 5): stay, up, down, left, right. Each agent
observes four ``grid x grid`` one-hot planes, own position first: self, other, own coin,
other's coin. Episodes are truncated after ``max_steps`` steps (discount 1).
"""
from __future__ import annotations

from typing import Any, Dict, List

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError, UnknownNameError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec

AGENTS = ("agent_0", "agent_1")
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])


class CoinGameEnvironment(MultiAgentEnvironment):
    def __init__(self, seed: int = 0, grid: int = 3, max_steps: int = 20):
        if grid < 2 or max_steps < 1:
            raise ConfigError("env.grid" if grid < 2 else "env.max_steps", "grid must be >= 2 and max_steps >= 1")
        self._grid = grid
        self._max_steps = max_steps
        self._rng = np.random.default_rng(seed)
        size = 4 * grid * grid
        self._spec = MultiAgentSpec(
            agents={
                aid: AgentSpec(
                    observation=specs.Array((size,), np.float32, f"{aid}_observation"),
                    action=specs.DiscreteArray(len(MOVES), dtype=np.int32, name=f"{aid}_action"),
                )
                for aid in AGENTS
            },
            state=specs.Array((size,), np.float32, "state"),
        )
        self._mask = np.ones((len(MOVES),), np.float32)
        self._positions = np.zeros((2, 2), np.int64)
        self._coin = np.zeros(2, np.int64)
        self._coin_owner = 0
        self._steps = 0
        self._coins_collected = 0
        self._own_coins_collected = 0
        self._reset_next_step = True

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _free_cell(self) -> np.ndarray:
        occupied = {tuple(p) for p in self._positions}
        free = [(r, c) for r in range(self._grid) for c in range(self._grid) if (r, c) not in occupied]
        return np.array(free[self._rng.integers(len(free))])

    def _spawn_coin(self) -> None:
        self._coin = self._free_cell()
        self._coin_owner = int(self._rng.integers(2))

    def _planes(self, me: int) -> np.ndarray:
        planes = np.zeros((4, self._grid, self._grid), np.float32)
        planes[0][tuple(self._positions[me])] = 1.0
        planes[1][tuple(self._positions[1 - me])] = 1.0
        planes[2 if self._coin_owner == me else 3][tuple(self._coin)] = 1.0
        return planes.ravel()

    def _observations(self) -> Dict[str, AgentObservation]:
        return {aid: AgentObservation(self._planes(i), self._mask) for i, aid in enumerate(AGENTS)}

    def reset(self) -> dm_env.TimeStep:
        self._positions = self._rng.choice(self._grid, size=(2, 2))
        while tuple(self._positions[0]) == tuple(self._positions[1]):
            self._positions[1] = self._rng.choice(self._grid, size=2)
        self._spawn_coin()
        self._steps = 0
        self._coins_collected = self._own_coins_collected = 0
        self._reset_next_step = False
        return first_timestep(self._spec, self._observations())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        for i, aid in enumerate(AGENTS):
            move = MOVES[int(actions[aid])]
            self._positions[i] = np.clip(self._positions[i] + move, 0, self._grid - 1)
        rewards = [0.0, 0.0]
        collectors = [i for i in range(2) if tuple(self._positions[i]) == tuple(self._coin)]
        for i in collectors:
            rewards[i] += 1.0
            self._coins_collected += 1
            if i == self._coin_owner:
                self._own_coins_collected += 1
            else:
                rewards[self._coin_owner] -= 2.0
        if collectors:
            self._spawn_coin()
        self._steps += 1
        last = self._steps >= self._max_steps
        self._reset_next_step = last
        return next_timestep(
            self._observations(),
            dict(zip(AGENTS, rewards)),
            dict.fromkeys(AGENTS, 1.0),
            last,
        )

    def get_state(self) -> np.ndarray:
        return self._planes(0)

    def metrics(self) -> Dict[str, float]:
        own = self._own_coins_collected / self._coins_collected if self._coins_collected else 0.0
        return {"coins": float(self._coins_collected), "own_coin_fraction": own}


class ExampleFamily:
    """The ``example`` family: ``coin_game`` (options: ``grid``, ``max_steps``)."""

    name = "example"
    default_task = "coin_game"
    _TASKS = {"coin_game": (CoinGameEnvironment, {"grid": 3, "max_steps": 20})}

    @classmethod
    def tasks(cls) -> List[str]:
        return list(cls._TASKS)

    @classmethod
    def make(cls, task: str = "coin_game", seed: int = 0, **options: Any) -> MultiAgentEnvironment:
        if task not in cls._TASKS:
            raise UnknownNameError("example task", task, cls.tasks())
        env_class, defaults = cls._TASKS[task]
        for key in options:
            if key not in defaults:
                raise ConfigError(f"env.{key}", f"unknown option for example:{task}; valid options: {', '.join(defaults)}")
        return env_class(seed=seed, **{**defaults, **options})
