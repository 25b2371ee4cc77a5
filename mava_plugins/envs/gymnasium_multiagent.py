"""Gymnasium multi-agent grid worlds (Level-Based Foraging, Multi-Robot Warehouse) as Mava environments.

Both packages register gymnasium environments whose observation and action spaces are
``Tuple`` spaces with one entry per agent, whose ``step`` takes a tuple of actions and returns
one reward per agent, and which end an episode with a single ``terminated`` flag (they report
their own time limit through it too). :class:`GymnasiumMultiAgentEnvironment` adapts any such
environment; a :class:`Profile` supplies what differs between packages: legal-action masks,
how to tell a real end from a time limit (discount 0 versus 1), and episode metrics.

The global state is the concatenation of all agents' observations, the convention of the
EPyMARL benchmark for these environments, so state-based critics and mixers can be compared
with its published results.

Both packages draw frames with pyglet. ``env.render_mode=rgb_array`` makes ``render()`` return
RGB frames; without a display (no ``$DISPLAY``) pyglet is switched to headless (EGL) rendering
before it opens its first window, which needs an EGL library such as Mesa's ``libEGL``.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError, MissingDependencyError, UnknownNameError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_plugins.envs.options import keyword_defaults, reject_unknown_options

_F32 = np.float32


@dataclasses.dataclass(frozen=True)
class Profile:
    """What one package's environments need beyond the common Tuple-space protocol."""

    family: str
    package: str  # imported before ``gymnasium.make`` so that its environments are registered
    extra: str  # the pip extra that installs it
    id_prefix: str
    #: (unwrapped env, per-agent action counts) -> per-agent legal-action masks (None: all legal)
    masks: Optional[Callable[[Any, Sequence[int]], List[np.ndarray]]] = None
    #: unwrapped env -> True when the episode ended for a reason other than a time limit
    ended_for_real: Callable[[Any], bool] = lambda env: False
    #: (unwrapped env, rewards summed over the episode per agent) -> metrics at episode end
    metrics: Callable[[Any, np.ndarray], Dict[str, float]] = lambda env, returns: {}
    #: a few well-known task ids (any registered id with ``id_prefix`` is accepted)
    featured: Sequence[str] = ()


# ------------------------------------------------------------------ Level-Based Foraging
def _lbf_masks(env: Any, num_actions: Sequence[int]) -> List[np.ndarray]:
    masks = []
    for player, count in zip(env.players, num_actions):
        mask = np.zeros(count, _F32)
        mask[[action.value for action in env._valid_actions[player]]] = 1.0
        masks.append(mask)
    return masks


def _lbf_ended_for_real(env: Any) -> bool:
    return bool(env.field.sum() == 0)  # every food item was collected


def _lbf_metrics(env: Any, returns: np.ndarray) -> Dict[str, float]:
    spawned = float(getattr(env, "_food_spawned", 0.0)) or 1.0
    return {"food_collected": 1.0 - float(env.field.sum()) / spawned}


LBF = Profile(
    family="lbf",
    package="lbforaging",
    extra="lbf",
    id_prefix="Foraging-",
    masks=_lbf_masks,
    ended_for_real=_lbf_ended_for_real,
    metrics=_lbf_metrics,
    featured=(
        "Foraging-5x5-2p-1f-coop-v3",
        "Foraging-8x8-2p-2f-coop-v3",
        "Foraging-8x8-2p-3f-v3",
        "Foraging-2s-8x8-2p-2f-coop-v3",
        "Foraging-10x10-3p-3f-v3",
        "Foraging-15x15-4p-3f-v3",
    ),
)


# ------------------------------------------------------------------ Multi-Robot Warehouse
def _rware_metrics(env: Any, returns: np.ndarray) -> Dict[str, float]:
    # individual rewards pay the delivering agent 1; global rewards pay every agent 1
    individual = getattr(getattr(env, "reward_type", None), "name", "INDIVIDUAL") == "INDIVIDUAL"
    return {"deliveries": float(returns.sum() if individual else returns[0])}


RWARE = Profile(
    family="rware",
    package="rware",
    extra="rware",
    id_prefix="rware-",
    metrics=_rware_metrics,  # the warehouse never ends by itself: every end is a time limit
    featured=("rware-tiny-2ag-v2", "rware-tiny-4ag-v2", "rware-small-4ag-v2", "rware-tiny-2ag-easy-v2"),
)


class GymnasiumMultiAgentEnvironment(MultiAgentEnvironment):
    """A gymnasium environment with per-agent Tuple spaces, as a Mava environment."""

    def __init__(self, env: Any, profile: Profile, seed: int = 0, name: str = "", render_mode: Optional[str] = None):
        self._env = env
        self._render_mode = render_mode
        self._unwrapped = env.unwrapped
        self._profile = profile
        self._name = name
        self._seed = seed
        self._seeded = False
        observation_spaces = list(env.observation_space.spaces)
        action_spaces = list(env.action_space.spaces)
        self._agents = [f"agent_{i}" for i in range(len(action_spaces))]
        agents = {}
        for agent, obs_space, action_space in zip(self._agents, observation_spaces, action_spaces):
            if type(action_space).__name__ != "Discrete":
                raise ConfigError("environment", f"{name}: only discrete per-agent actions are supported, got {action_space}")
            agents[agent] = AgentSpec(
                observation=specs.Array((int(np.prod(obs_space.shape)),), _F32, f"{agent}_observation"),
                action=specs.DiscreteArray(int(action_space.n), dtype=np.int32, name=f"{agent}_action"),
            )
        state_size = sum(int(np.prod(a.observation.shape)) for a in agents.values())
        self._spec = MultiAgentSpec(
            agents=agents,
            state=specs.Array((state_size,), _F32, "state"),
            has_action_masks=profile.masks is not None,
        )
        self._num_actions = [int(space.n) for space in action_spaces]
        self._ones = [np.ones(n, _F32) for n in self._num_actions]
        self._observations: List[np.ndarray] = []
        self._returns = np.zeros(len(self._agents))
        self._ended = True

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _timestep_observations(self, raw: Sequence[Any]) -> Dict[str, AgentObservation]:
        self._observations = [np.asarray(obs, _F32).reshape(-1) for obs in raw]
        masks = self._ones if self._profile.masks is None else self._profile.masks(self._unwrapped, self._num_actions)
        return {agent: AgentObservation(obs, mask) for agent, obs, mask in zip(self._agents, self._observations, masks)}

    def reset(self) -> dm_env.TimeStep:
        if self._seeded:
            raw, _ = self._env.reset()
        else:  # seed once; later episodes continue the environment's own random stream
            raw, _ = self._env.reset(seed=self._seed)
            self._seeded = True
        self._returns = np.zeros(len(self._agents))
        self._ended = False
        return first_timestep(self._spec, self._timestep_observations(raw))

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._ended:
            return self.reset()
        joint = tuple(int(actions[agent]) for agent in self._agents)
        raw, rewards, terminated, truncated, _ = self._env.step(joint)
        rewards = np.asarray(rewards, dtype=np.float64).reshape(-1)
        self._returns += rewards
        last = bool(terminated or truncated)
        discount = 0.0 if (terminated and self._profile.ended_for_real(self._unwrapped)) else 1.0
        self._ended = last
        return next_timestep(
            self._timestep_observations(raw),
            {agent: float(r) for agent, r in zip(self._agents, rewards)},
            dict.fromkeys(self._agents, discount),
            last,
        )

    def get_state(self) -> np.ndarray:
        return np.concatenate(self._observations).astype(_F32, copy=False)

    def metrics(self) -> Dict[str, float]:
        return dict(self._profile.metrics(self._unwrapped, self._returns))

    def render(self, mode: Optional[str] = None) -> np.ndarray:
        """The current frame as a ``(height, width, 3)`` uint8 array (needs ``render_mode="rgb_array"``)."""
        if self._render_mode is None:
            raise ConfigError("env.render_mode", f"{self._name} was made without a render mode; pass env.render_mode=rgb_array to render it")
        if mode is not None and mode != self._render_mode:
            raise ConfigError("env.render_mode", f"{self._name} was made with render_mode={self._render_mode!r}, not {mode!r}")
        _headless_pyglet_without_display()
        # both packages ignore gymnasium's render_mode and take the mode as an argument
        return self._unwrapped.render(mode="rgb_array")

    def close(self) -> None:
        self._env.close()


class GymnasiumMultiAgentFamily:
    """An environment family over one package's registered gymnasium ids (``family:<gym id>``)."""

    profile: Profile

    @classmethod
    def _registry(cls):
        try:
            importlib.import_module(cls.profile.package)
            import gymnasium
        except ImportError as error:
            package = (error.name or cls.profile.package).split(".")[0]
            raise MissingDependencyError(package, cls.profile.extra, f"environment family {cls.profile.family!r}") from error
        return gymnasium

    @classmethod
    def tasks(cls) -> List[str]:
        """A few well-known tasks; every registered id starting with the family's prefix works."""
        return list(cls.profile.featured)

    @classmethod
    def make(cls, task: str, seed: int = 0, render_mode: Optional[str] = None, **options: Any) -> GymnasiumMultiAgentEnvironment:
        """``options`` go to the package's constructor; ``render_mode`` (``rgb_array``) is Mava's."""
        gymnasium = cls._registry()
        family = cls.profile.family
        if render_mode not in (None, "rgb_array"):
            raise ConfigError("env.render_mode", f"must be rgb_array or unset for {family}:{task}, got {render_mode!r}")
        if task not in gymnasium.registry or not task.startswith(cls.profile.id_prefix):
            known = [name for name in gymnasium.registry if name.startswith(cls.profile.id_prefix)]
            near = difflib.get_close_matches(task, known, n=8, cutoff=0.8) or cls.tasks()
            raise UnknownNameError(f"{family} task", task, near)
        spec = gymnasium.registry[task]
        valid = _constructor_options(spec.entry_point)
        if valid is not None:
            reject_unknown_options(f"{family}:{task}", options, valid)
        try:
            env = gymnasium.make(task, disable_env_checker=True, **options)
        except (TypeError, ValueError, AssertionError) as error:
            raise ConfigError("env", f"{family}:{task} rejected options {options}: {error}") from error
        return GymnasiumMultiAgentEnvironment(env, cls.profile, seed=seed, name=f"{family}:{task}", render_mode=render_mode)


def _headless_pyglet_without_display() -> None:
    """Make pyglet render offscreen (EGL) when there is no display, before it opens any window."""
    if os.environ.get("DISPLAY") or "pyglet.window" in sys.modules:
        return
    import pyglet

    pyglet.options["headless"] = True


def _constructor_options(entry_point: Any) -> Optional[List[str]]:
    """Keyword arguments of the registered class's constructor, or None when unreadable."""
    if not isinstance(entry_point, str) or ":" not in entry_point:
        return None
    module_name, _, attribute = entry_point.partition(":")
    try:
        constructor = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return None
    defaults = keyword_defaults(constructor)
    return None if defaults is None else list(defaults)


class LevelBasedForaging(GymnasiumMultiAgentFamily):
    """``lbf:<id>``: Level-Based Foraging (lbforaging), e.g. ``lbf:Foraging-8x8-2p-2f-coop-v3``."""

    profile = LBF


class MultiRobotWarehouse(GymnasiumMultiAgentFamily):
    """``rware:<id>``: Multi-Robot Warehouse (rware), e.g. ``rware:rware-tiny-2ag-v2``."""

    profile = RWARE
