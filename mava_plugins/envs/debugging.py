"""The ``debug`` environment family: tiny pure-numpy environments for tests and sanity runs.

* ``two_step``: the two-step cooperative matrix game of QMIX (Rashid et al. 2018).
* ``simple_spread``: a simplified, fast, numpy version of MPE's simple spread, with discrete
  moves (default) or 2-D velocity actions in ``[-1, 1]`` (``env.continuous=true``).
* ``switch_riddle``: the switch riddle of Foerster et al. 2016 ("Learning to communicate
  with deep multi-agent reinforcement learning"), with action masks.

All are deterministic under their seed and need nothing beyond numpy and dm_env. Every task
also takes ``fail_after_steps`` and ``fail_on_seeds``, which make it raise on purpose (see
:mod:`mava_plugins.envs.fault_injection`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_plugins.envs import fault_injection
from mava_plugins.envs.numpy_canvas import PALETTE, Canvas
from mava_plugins.envs.options import reject_unknown_options
from mava_plugins.envs.task_table import TaskTableFamily

_F32 = np.float32


def _discrete_spec(agent_ids: List[str], obs_size: int, num_actions: int, state_size: int) -> MultiAgentSpec:
    return MultiAgentSpec(
        agents={
            aid: AgentSpec(
                observation=specs.Array((obs_size,), _F32, f"{aid}_observation"),
                action=specs.DiscreteArray(num_actions, dtype=np.int32, name=f"{aid}_action"),
            )
            for aid in agent_ids
        },
        state=specs.Array((state_size,), _F32, "state"),
    )


def _ones_mask(num_actions: int) -> np.ndarray:
    mask = np.ones((num_actions,), _F32)
    mask.flags.writeable = False
    return mask


class TwoStepEnvironment(MultiAgentEnvironment):
    """The two-step game: agent 0's first action picks state 2A or 2B; step 2 pays a team reward.

    States are 1, 2A and 2B, observed (by both agents) and as global state as a one-hot of
    size 3. In 2A every joint action pays 7; in 2B the payoff is ``[[0, 1], [1, 8]]``
    indexed by (agent 0's action, agent 1's action). The first step pays 0. Episodes last
    two steps and end by termination (discount 0).
    """

    AGENTS = ["agent_0", "agent_1"]
    PAYOFF_2A = np.full((2, 2), 7.0, _F32)
    PAYOFF_2B = np.array([[0.0, 1.0], [1.0, 8.0]], _F32)

    def __init__(self, seed: int = 0):
        self._seed = seed  # the game is deterministic; kept for the family interface
        self._spec = _discrete_spec(self.AGENTS, 3, 2, 3)
        self._mask = _ones_mask(2)
        self._one_hot = [np.eye(3, dtype=_F32)[i] for i in range(3)]
        for vector in self._one_hot:
            vector.flags.writeable = False
        self._state = 0
        self._payoff = 0.0
        self._reset_next_step = True

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _observations(self) -> Dict[str, AgentObservation]:
        obs = AgentObservation(self._one_hot[self._state], self._mask)
        return {aid: obs for aid in self.AGENTS}

    def reset(self) -> dm_env.TimeStep:
        self._state = 0
        self._payoff = 0.0
        self._reset_next_step = False
        return first_timestep(self._spec, self._observations())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        a0, a1 = int(actions["agent_0"]), int(actions["agent_1"])
        if self._state == 0:
            self._state = 1 if a0 == 0 else 2
            reward, last = 0.0, False
        else:
            matrix = self.PAYOFF_2A if self._state == 1 else self.PAYOFF_2B
            reward, last = float(matrix[a0, a1]), True
            self._payoff = reward
        self._reset_next_step = last
        discount = 0.0 if last else 1.0
        return next_timestep(
            self._observations(),
            {aid: reward for aid in self.AGENTS},
            {aid: discount for aid in self.AGENTS},
            last,
        )

    def get_state(self) -> np.ndarray:
        return self._one_hot[self._state]

    def metrics(self) -> Dict[str, float]:
        return {"payoff": self._payoff, "optimal": float(self._payoff == 8.0)}


def _continuous_spec(agent_ids: List[str], obs_size: int, action_size: int, state_size: int) -> MultiAgentSpec:
    return MultiAgentSpec(
        agents={
            aid: AgentSpec(
                observation=specs.Array((obs_size,), _F32, f"{aid}_observation"),
                action=specs.BoundedArray((action_size,), _F32, -1.0, 1.0, name=f"{aid}_action"),
            )
            for aid in agent_ids
        },
        state=specs.Array((state_size,), _F32, "state"),
    )


class SimpleSpreadEnvironment(MultiAgentEnvironment):
    """N agents must cover N landmarks in the box ``[-1, 1]^2``.

    Actions (discrete, 5): noop, left, right, down, up; each move is 0.1, clipped to the box.
    With ``continuous=True`` an action is instead a 2-D velocity in ``[-1, 1]^2`` (float32;
    values outside are clipped) and the agent moves by ``0.1 * velocity``, clipped to the box;
    observations, reward, state and episode length are the same as in the discrete version.
    An agent observes its own position, the landmarks' positions relative to it and the other
    agents' positions relative to it (``4 * N`` values). Every agent gets the team reward
    ``-sum over landmarks of the distance to the nearest agent``. Episodes are truncated
    after ``max_steps`` steps (discount 1). The global state is all agent positions followed
    by all landmark positions.

    With ``render_mode="rgb_array"``, ``render()`` returns a 256x256 RGB frame drawn with numpy
    (no display needed): landmarks as grey discs of the cover radius, agents as coloured dots.
    """

    MOVES = np.array([[0.0, 0.0], [-0.1, 0.0], [0.1, 0.0], [0.0, -0.1], [0.0, 0.1]])
    COVER_RADIUS = 0.1

    SPEED = 0.1
    FRAME_SIZE = 256

    def __init__(
        self, seed: int = 0, num_agents: int = 3, max_steps: int = 25, continuous: bool = False, render_mode: Optional[str] = None
    ):
        for key, value in (("num_agents", num_agents), ("max_steps", max_steps)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"env.{key}", f"must be a positive integer, got {value!r}")
        if not isinstance(continuous, (bool, np.bool_)):
            raise ConfigError("env.continuous", f"must be true or false, got {continuous!r}")
        if render_mode not in (None, "rgb_array"):
            raise ConfigError("env.render_mode", f"must be rgb_array or unset, got {render_mode!r}")
        self._render_mode = render_mode
        self._continuous = bool(continuous)
        self._n = int(num_agents)
        self._max_steps = int(max_steps)
        self._seed = seed
        self._rng: Optional[np.random.Generator] = None
        self._agent_ids = [f"agent_{i}" for i in range(self._n)]
        if self._continuous:
            self._spec = _continuous_spec(self._agent_ids, 4 * self._n, 2, 4 * self._n)
            self._mask = _ones_mask(2)
        else:
            self._spec = _discrete_spec(self._agent_ids, 4 * self._n, 5, 4 * self._n)
            self._mask = _ones_mask(5)
        n = self._n
        self._others = np.array([[j for j in range(n) if j != i] for i in range(n)], dtype=np.intp).reshape(n, n - 1)
        self._rows = np.arange(n)[:, None]
        self._agents = np.zeros((n, 2))
        self._landmarks = np.zeros((n, 2))
        self._steps = 0
        self._reset_next_step = True

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def reset(self) -> dm_env.TimeStep:
        if self._rng is None:
            self._rng = np.random.default_rng(self._seed)
        self._agents = self._rng.uniform(-1.0, 1.0, (self._n, 2))
        self._landmarks = self._rng.uniform(-1.0, 1.0, (self._n, 2))
        self._steps = 0
        self._reset_next_step = False
        return first_timestep(self._spec, self._observations())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        if self._continuous:
            velocities = np.stack([np.asarray(actions[aid], dtype=np.float64).reshape(2) for aid in self._agent_ids])
            moves = self.SPEED * np.clip(velocities, -1.0, 1.0)
        else:
            moves = self.MOVES[np.fromiter((actions[aid] for aid in self._agent_ids), dtype=np.intp, count=self._n)]
        np.clip(self._agents + moves, -1.0, 1.0, out=self._agents)
        self._steps += 1
        reward = -float(self._distances().min(axis=0).sum())
        last = self._steps >= self._max_steps
        self._reset_next_step = last
        return next_timestep(
            self._observations(),
            dict.fromkeys(self._agent_ids, reward),
            dict.fromkeys(self._agent_ids, 1.0),
            last,
        )

    def _distances(self) -> np.ndarray:
        """``[i, l]``: distance from agent i to landmark l."""
        return np.linalg.norm(self._landmarks[None, :, :] - self._agents[:, None, :], axis=-1)

    def _observations(self) -> Dict[str, AgentObservation]:
        n, agents = self._n, self._agents
        rel_landmarks = (self._landmarks[None, :, :] - agents[:, None, :]).reshape(n, -1)
        rel_agents = (agents[None, :, :] - agents[:, None, :])[self._rows, self._others].reshape(n, -1)
        obs = np.concatenate([agents, rel_landmarks, rel_agents], axis=1).astype(_F32)
        mask = self._mask
        return {aid: AgentObservation(obs[i], mask) for i, aid in enumerate(self._agent_ids)}

    def get_state(self) -> np.ndarray:
        return np.concatenate([self._agents.ravel(), self._landmarks.ravel()]).astype(_F32)

    def render(self, mode: Optional[str] = None) -> np.ndarray:
        """The current positions as a ``(256, 256, 3)`` uint8 frame (needs ``render_mode="rgb_array"``)."""
        if self._render_mode is None:
            raise ConfigError("env.render_mode", "debug:simple_spread was made without a render mode; pass env.render_mode=rgb_array to render it")
        if mode is not None and mode != self._render_mode:
            raise ConfigError("env.render_mode", f"debug:simple_spread was made with render_mode={self._render_mode!r}, not {mode!r}")
        canvas = Canvas(self.FRAME_SIZE)
        for landmark in self._landmarks:
            canvas.disc(landmark, self.COVER_RADIUS, (190, 190, 190))
        for index, agent in enumerate(self._agents):
            canvas.disc(agent, 0.05, PALETTE[index % len(PALETTE)])
        return canvas.image

    def metrics(self) -> Dict[str, float]:
        nearest = self._distances().min(axis=0)
        return {
            "coverage": float(np.mean(nearest <= self.COVER_RADIUS)),
            "distance": float(nearest.sum()),
        }


class SwitchRiddleEnvironment(MultiAgentEnvironment):
    """The switch riddle: prisoners visit a room with a light bulb, one at a time, at random.

    Each step one agent, drawn uniformly at random (with replacement), is in the room. Actions
    are 0 none, 1 toggle the light, 2 tell ("every prisoner has been in the room"); only the
    agent in the room may toggle or tell (its mask is ``[1, 1, 1]``, everyone else's
    ``[1, 0, 0]``; a masked action that is sent anyway is treated as none). Telling ends the
    episode with reward +1 for every agent if every agent has been in the room by then, and
    -1 otherwise. Otherwise the episode ends after ``max_steps`` steps with reward 0. Both
    endings are terminations (discount 0): the game is over. The light starts off.

    An agent observes ``(in_room, light, t / max_steps)``: whether it is in the room, the
    light (1 on, 0 off) only when it is in the room (0 otherwise), and the elapsed fraction
    of the episode. The global state is the one-hot of the agent in the room, the light,
    every agent's has-visited flag and ``t / max_steps`` (``2 * num_agents + 2`` values).

    ``max_steps`` defaults to ``4 * num_agents - 6`` as in the paper (6 steps for 3 agents),
    but at least ``num_agents``. The room's visitors come from a generator seeded by ``seed``.
    """

    NONE, TOGGLE, TELL = 0, 1, 2

    def __init__(self, seed: int = 0, num_agents: int = 3, max_steps: Optional[int] = None):
        if isinstance(num_agents, bool) or not isinstance(num_agents, (int, np.integer)) or num_agents < 1:
            raise ConfigError("env.num_agents", f"must be a positive integer, got {num_agents!r}")
        if max_steps is None:
            max_steps = max(4 * int(num_agents) - 6, int(num_agents))
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
            raise ConfigError("env.max_steps", f"must be a positive integer, got {max_steps!r}")
        self._n = int(num_agents)
        self._max_steps = int(max_steps)
        self._seed = seed
        self._rng: Optional[np.random.Generator] = None
        self._agent_ids = [f"agent_{i}" for i in range(self._n)]
        spec = _discrete_spec(self._agent_ids, 3, 3, 2 * self._n + 2)
        self._spec = dataclasses.replace(spec, has_action_masks=True)
        self._in_room_mask = _ones_mask(3)
        self._outside_mask = np.array([1.0, 0.0, 0.0], _F32)
        self._outside_mask.flags.writeable = False
        self._in_room = 0
        self._light = False
        self._visited = np.zeros((self._n,), bool)
        self._steps = 0
        self._outcome = 0.0
        self._reset_next_step = True

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    @property
    def agent_in_room(self) -> str:
        return self._agent_ids[self._in_room]

    def _enter(self) -> None:
        self._in_room = int(self._rng.integers(self._n))
        self._visited[self._in_room] = True

    def reset(self) -> dm_env.TimeStep:
        if self._rng is None:
            self._rng = np.random.default_rng(self._seed)
        self._light = False
        self._visited[:] = False
        self._steps = 0
        self._outcome = 0.0
        self._reset_next_step = False
        self._enter()
        return first_timestep(self._spec, self._observations())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        action = int(actions[self.agent_in_room])
        self._steps += 1
        reward, last = 0.0, False
        if action == self.TOGGLE:
            self._light = not self._light
        elif action == self.TELL:
            reward = 1.0 if self._visited.all() else -1.0
            last = True
        if not last and self._steps >= self._max_steps:
            last = True
        if not last:
            self._enter()
        self._outcome = reward
        self._reset_next_step = last
        discount = 0.0 if last else 1.0
        return next_timestep(
            self._observations(),
            dict.fromkeys(self._agent_ids, reward),
            dict.fromkeys(self._agent_ids, discount),
            last,
        )

    def _observations(self) -> Dict[str, AgentObservation]:
        fraction = self._steps / self._max_steps
        observations = {}
        for i, aid in enumerate(self._agent_ids):
            inside = i == self._in_room
            obs = np.array([float(inside), float(inside and self._light), fraction], _F32)
            observations[aid] = AgentObservation(obs, self._in_room_mask if inside else self._outside_mask)
        return observations

    def get_state(self) -> np.ndarray:
        room = np.zeros((self._n,), _F32)
        room[self._in_room] = 1.0
        tail = [float(self._light), *self._visited.astype(_F32), self._steps / self._max_steps]
        return np.concatenate([room, np.array(tail, _F32)])

    def metrics(self) -> Dict[str, float]:
        return {"success": float(self._outcome > 0), "told_too_early": float(self._outcome < 0)}


#: task name -> (environment class, its options and their defaults)
TASKS: Dict[str, tuple] = {
    "two_step": (TwoStepEnvironment, {}),
    "simple_spread": (SimpleSpreadEnvironment, {"num_agents": 3, "max_steps": 25, "continuous": False, "render_mode": None}),
    "switch_riddle": (SwitchRiddleEnvironment, {"num_agents": 3, "max_steps": None}),
}


class DebugFamily(TaskTableFamily):
    """Small numpy environments for tests: ``two_step``, ``simple_spread`` and ``switch_riddle``."""

    name = "debug"
    default_task = "two_step"
    task_table = TASKS

    @classmethod
    def make(cls, task: str = "two_step", seed: int = 0, **options: Any) -> MultiAgentEnvironment:
        env_class, defaults = cls.task_entry(task)
        options = dict(options)
        faults = fault_injection.split_options(options)
        reject_unknown_options(f"debug:{task}", options, defaults)
        return fault_injection.maybe_failing(env_class(seed=seed, **{**defaults, **options}), seed, **faults)
