"""A :class:`~mava_core.environment.MultiAgentEnvironment` around a PettingZoo ``ParallelEnv``.

The wrapper keeps every agent of ``possible_agents`` in every timestep: an agent that has
left the episode is reported with a zero observation, zero reward, discount 0 and an
all-ones action mask, and its actions are dropped before they reach PettingZoo. Discounts
tell termination (0.0) from truncation by a time limit (1.0).

Everything that does not change during a run (agent lists, specs, the all-ones masks and
the zero observations of dead agents) is computed once, in the constructor, so a step
costs little more than the PettingZoo step itself.

PettingZoo and gymnasium are only needed by the environment handed in: this module
imports neither at import time.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError, MavaError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec

_F32 = np.float32


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class _AgentIO:
    """How one agent's observations and actions are converted (decided once, from its spaces)."""

    __slots__ = ("spec", "dict_obs", "flatten", "space", "ones", "zeros", "dead", "action_fn")

    def __init__(self, agent: str, observation_space: Any, action_space: Any):
        self.space = observation_space
        self.dict_obs = _is_masked_dict_space(observation_space)
        inner = observation_space["observation"] if self.dict_obs else observation_space
        self.flatten = _flattener(inner)
        obs_shape = _observation_shape(inner)
        action, self.action_fn = _action_spec_and_converter(agent, action_space)
        self.spec = AgentSpec(
            observation=specs.Array(obs_shape, _F32, f"{agent}_observation"),
            action=action,
        )
        self.ones = _readonly(np.ones((self.spec.num_actions,), _F32))
        self.zeros = _readonly(np.zeros(obs_shape, _F32))
        self.dead = AgentObservation(self.zeros, self.ones)


def _is_masked_dict_space(space: Any) -> bool:
    spaces = getattr(space, "spaces", None)
    return isinstance(spaces, dict) and "observation" in spaces and "action_mask" in spaces


def _observation_shape(space: Any) -> tuple:
    if type(space).__name__ == "Box":
        return tuple(int(d) for d in space.shape)
    from gymnasium.spaces import flatdim

    return (int(flatdim(space)),)


def _flattener(space: Any) -> Optional[Callable[[Any], np.ndarray]]:
    """None for Box spaces (the array is used as is); a gymnasium flatten call otherwise."""
    if type(space).__name__ == "Box":
        return None
    from gymnasium.spaces import flatten

    return lambda value: flatten(space, value)


def _action_spec_and_converter(agent: str, space: Any):
    kind = type(space).__name__
    if kind == "Discrete":
        start = int(getattr(space, "start", 0))
        spec = specs.DiscreteArray(int(space.n), dtype=np.int32, name=f"{agent}_action")
        return spec, (None if start == 0 else (lambda a: int(a) + start))
    if kind == "Box":
        dtype = space.dtype
        spec = specs.BoundedArray(
            tuple(int(d) for d in space.shape),
            _F32,
            np.asarray(space.low, _F32),
            np.asarray(space.high, _F32),
            name=f"{agent}_action",
        )
        return spec, (lambda a: np.asarray(a, dtype=dtype))
    raise MavaError(f"agent {agent!r} has a {kind} action space; only Discrete and Box action spaces are supported")


class PettingZooParallelEnvironment(MultiAgentEnvironment):
    """Wraps a PettingZoo ``ParallelEnv`` as a Mava multi-agent environment.

    Args:
        env: the PettingZoo parallel environment.
        seed: seed of the first ``reset()``; later resets continue from the env's RNG.
        name: used in error messages and ``repr``.
        has_action_masks: whether masks come from the observations or infos. ``None``
            (default) detects it from the observation space and the infos of a probe reset.
    """

    def __init__(self, env: Any, seed: Optional[int] = 0, name: str = "pettingzoo", has_action_masks: Optional[bool] = None):
        self._env = env
        self._seed = seed
        self._name = name
        self._agents: List[str] = list(env.possible_agents)
        self._io: Dict[str, _AgentIO] = {
            agent: _AgentIO(agent, env.observation_space(agent), env.action_space(agent)) for agent in self._agents
        }
        self._convert_actions = any(io.action_fn is not None for io in self._io.values())
        self._any_dict_obs = any(io.dict_obs for io in self._io.values())

        # A probe reset (with the run's seed, which the first real reset repeats) tells
        # whether infos carry action masks and whether ``state()`` works.
        _, infos = env.reset(seed=seed)
        self._info_masks = any(isinstance(info, dict) and "action_mask" in info for info in (infos or {}).values())
        state_spec = self._probe_state()
        if has_action_masks is None:
            has_action_masks = self._any_dict_obs or self._info_masks
        self._spec = MultiAgentSpec(
            agents={agent: io.spec for agent, io in self._io.items()},
            state=state_spec,
            has_action_masks=bool(has_action_masks),
        )
        self._first_reset = True
        self._reset_next_step = True
        self._done: Dict[str, bool] = {}

    # ------------------------------------------------------------------ construction helpers
    def _probe_state(self) -> Optional[specs.Array]:
        state_fn = getattr(self._env, "state", None)
        if state_fn is None:
            return None
        try:
            state = state_fn()
        except (NotImplementedError, AttributeError, TypeError, ValueError, AssertionError):
            return None
        if state is None:
            return None
        state = np.asarray(state)
        if state.dtype == object or not np.issubdtype(state.dtype, np.number):
            return None
        return specs.Array(state.shape, _F32, "state")

    # ------------------------------------------------------------------------- dm_env API
    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    @property
    def environment(self) -> Any:
        """The wrapped PettingZoo environment."""
        return self._env

    def reset(self) -> dm_env.TimeStep:
        if self._first_reset:
            observations, infos = self._env.reset(seed=self._seed)
            self._first_reset = False
        else:
            observations, infos = self._env.reset()
        self._done = dict.fromkeys(self._agents, False)
        self._reset_next_step = False
        info_masks = infos if self._info_masks else None
        return first_timestep(
            self._spec,
            {agent: self._observe(self._io[agent], observations.get(agent), info_masks, agent) for agent in self._agents},
        )

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        live = self._env.agents
        try:
            if self._convert_actions:
                io = self._io
                pz_actions = {}
                for agent in live:
                    fn = io[agent].action_fn
                    pz_actions[agent] = actions[agent] if fn is None else fn(actions[agent])
            else:
                pz_actions = {agent: actions[agent] for agent in live}
        except KeyError as error:
            raise MavaError(f"{self._name}: no action given for live agent {error.args[0]!r}") from None

        observations, rewards, terminations, truncations, infos = self._env.step(pz_actions)

        done = self._done
        io_map = self._io
        info_masks = infos if self._info_masks else None
        out_obs: Dict[str, AgentObservation] = {}
        out_rewards: Dict[str, float] = {}
        discounts: Dict[str, float] = {}
        for agent in self._agents:
            if done[agent]:  # left the episode on an earlier step
                out_obs[agent] = io_map[agent].dead
                out_rewards[agent] = 0.0
                discounts[agent] = 0.0
                continue
            out_obs[agent] = self._observe(io_map[agent], observations.get(agent), info_masks, agent)
            out_rewards[agent] = rewards.get(agent, 0.0)
            if terminations.get(agent, False):
                done[agent] = True
                discounts[agent] = 0.0
            elif truncations.get(agent, False):
                done[agent] = True
                discounts[agent] = 1.0
            else:
                discounts[agent] = 1.0
        last = not self._env.agents or all(done.values())
        self._reset_next_step = last
        return next_timestep(out_obs, out_rewards, discounts, last)

    @staticmethod
    def _observe(io: _AgentIO, obs: Any, infos: Optional[Dict[str, Any]], agent: str) -> AgentObservation:
        """One agent's AgentObservation; ``obs`` is None for an agent PettingZoo no longer reports."""
        if obs is None:
            return io.dead
        mask = io.ones
        if io.dict_obs:
            mask = np.asarray(obs["action_mask"], _F32)
            obs = obs["observation"]
        elif infos:
            info = infos.get(agent)
            if info and "action_mask" in info:
                mask = np.asarray(info["action_mask"], _F32)
        if io.flatten is not None:
            obs = io.flatten(obs)
        return AgentObservation(np.asarray(obs, _F32), mask)

    # ------------------------------------------------------------------------ extras
    def get_state(self) -> Optional[np.ndarray]:
        if self._spec.state is None:
            return None
        return np.asarray(self._env.state(), _F32)

    def render(self, mode: Optional[str] = None) -> Any:
        """The env's frame: an RGB array when it was made with ``render_mode="rgb_array"``.

        ``mode``, when given, must match the render mode the env was made with.
        """
        render_mode = getattr(self._env, "render_mode", None)
        if render_mode is None:
            raise ConfigError("env.render_mode", f"{self._name} was made without a render mode; pass render_mode='rgb_array' to render it")
        if mode is not None and mode != render_mode:
            raise ConfigError("env.render_mode", f"{self._name} was made with render_mode={render_mode!r}, not {mode!r}")
        return self._env.render()

    def close(self) -> None:
        close = getattr(self._env, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        return f"PettingZooParallelEnvironment({self._name}, agents={self._agents})"
