"""What the parallel and turn-based PettingZoo wrappers share: per-agent space conversion
and a base class for everything but ``reset`` and ``step``.

:class:`AgentIO` is decided once per agent from its observation and action spaces: the
agent's :class:`~mava_core.specs.AgentSpec`, how a raw observation becomes a flat float32
vector (every Mava network reads vectors), where its legal-action mask comes from, and how
a Mava action becomes a PettingZoo one. ``extra`` reserves trailing observation entries
that a wrapper fills itself (the turn-based wrapper's "it is my turn" flag).

gymnasium is imported only for spaces that are not ``Box`` (``Dict``, ``Discrete``, ...).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment
from mava_core.errors import ConfigError, MavaError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec

F32 = np.float32


def readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def is_masked_dict_space(space: Any) -> bool:
    """A ``Dict`` space with ``observation`` and ``action_mask`` entries (PettingZoo's masked obs)."""
    spaces = getattr(space, "spaces", None)
    return isinstance(spaces, dict) and "observation" in spaces and "action_mask" in spaces


def _flat_size_and_flattener(space: Any) -> Tuple[int, Callable[[Any], np.ndarray]]:
    if type(space).__name__ == "Box":
        return int(np.prod(space.shape, dtype=np.int64)), lambda value: np.asarray(value, F32).reshape(-1)
    from gymnasium.spaces import flatdim, flatten

    return int(flatdim(space)), lambda value: np.asarray(flatten(space, value), F32).reshape(-1)


def action_spec_and_converter(agent: str, space: Any):
    """The agent's dm_env action spec, and a function from a Mava action to a PettingZoo one (or None)."""
    kind = type(space).__name__
    if kind == "Discrete":
        start = int(getattr(space, "start", 0))
        spec = specs.DiscreteArray(int(space.n), dtype=np.int32, name=f"{agent}_action")
        return spec, (None if start == 0 else (lambda a: int(a) + start))
    if kind == "Box":
        dtype = space.dtype
        spec = specs.BoundedArray(
            tuple(int(d) for d in space.shape),
            F32,
            np.asarray(space.low, F32),
            np.asarray(space.high, F32),
            name=f"{agent}_action",
        )
        return spec, (lambda a: np.asarray(a, dtype=dtype))
    raise MavaError(f"agent {agent!r} has a {kind} action space; only Discrete and Box action spaces are supported")


class AgentIO:
    """How one agent's observations and actions are converted (decided once, from its spaces).

    Attributes: ``spec`` (observation shape ``(flat size + extra,)``), ``ones`` (the all-ones
    mask), ``dead`` (zero observation, all-ones mask), ``action_fn`` (None when actions pass
    through unchanged), ``dict_obs`` (masks come inside the observation).
    """

    __slots__ = ("spec", "dict_obs", "flatten", "size", "extra", "ones", "dead", "action_fn")

    def __init__(self, agent: str, observation_space: Any, action_space: Any, extra: int = 0):
        self.dict_obs = is_masked_dict_space(observation_space)
        inner = observation_space["observation"] if self.dict_obs else observation_space
        self.size, self.flatten = _flat_size_and_flattener(inner)
        self.extra = extra
        action, self.action_fn = action_spec_and_converter(agent, action_space)
        self.spec = AgentSpec(
            observation=specs.Array((self.size + extra,), F32, f"{agent}_observation"),
            action=action,
        )
        self.ones = readonly(np.ones((self.spec.num_actions,), F32))
        self.dead = AgentObservation(readonly(np.zeros((self.size + extra,), F32)), self.ones)

    def split(self, obs: Any, info: Optional[Mapping[str, Any]]) -> Tuple[np.ndarray, np.ndarray]:
        """(flat float32 observation, legal-action mask) of a raw PettingZoo observation.

        The mask comes from the observation's ``action_mask`` entry, else from ``info``'s,
        else it is all ones.
        """
        mask = self.ones
        if self.dict_obs:
            mask = np.asarray(obs["action_mask"], F32)
            obs = obs["observation"]
        elif info and "action_mask" in info:
            mask = np.asarray(info["action_mask"], F32)
        return self.flatten(obs), mask

    def observe(self, obs: Any, info: Optional[Mapping[str, Any]]) -> AgentObservation:
        """The AgentObservation of a raw observation (``extra`` must be 0); ``dead`` for None."""
        if obs is None:
            return self.dead
        flat, mask = self.split(obs, info)
        return AgentObservation(flat, mask)


def infos_carry_masks(infos: Optional[Mapping[str, Any]]) -> bool:
    return any(isinstance(info, Mapping) and "action_mask" in info for info in (infos or {}).values())


def probe_state(env: Any) -> Optional[specs.Array]:
    """The spec of ``env.state()`` when it returns a numeric array, else None (after a reset)."""
    state_fn = getattr(env, "state", None)
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
    return specs.Array(state.shape, F32, "state")


class PettingZooEnvironmentBase(MultiAgentEnvironment):
    """The wrapped env, its agents' conversions and spec, state, rendering and closing.

    Subclasses set ``self._spec`` in their constructor and implement ``reset`` and ``step``.
    ``extra`` trailing observation entries are reserved per agent (see :class:`AgentIO`).
    """

    _spec: MultiAgentSpec

    def __init__(self, env: Any, seed: Optional[int], name: str, extra: int = 0):
        self._env = env
        self._seed = seed
        self._name = name
        self._agents: List[str] = list(env.possible_agents)
        self._io: Dict[str, AgentIO] = {
            agent: AgentIO(agent, env.observation_space(agent), env.action_space(agent), extra=extra) for agent in self._agents
        }
        self._first_reset = True  # the first reset uses ``seed``; later ones continue the env's RNG
        self._reset_next_step = True
        self._done: Dict[str, bool] = {}

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    @property
    def environment(self) -> Any:
        """The wrapped PettingZoo environment."""
        return self._env

    def _reset_seed(self) -> Optional[int]:
        """The seed for this reset: the run's on the first, None (continue the RNG) after."""
        seed, self._first_reset = (self._seed if self._first_reset else None), False
        return seed

    def get_state(self) -> Optional[np.ndarray]:
        if self._spec.state is None:
            return None
        return np.asarray(self._env.state(), F32)

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
        return f"{type(self).__name__}({self._name}, agents={self._agents})"
