"""The environment boundary: a multi-agent ``dm_env.Environment`` and its contract checks."""
from __future__ import annotations

import abc
import math
from typing import Any, Dict, Mapping, Optional, Sequence

import dm_env
import numpy as np

from mava_core.errors import EnvironmentContractError
from mava_core.specs import PARALLEL, AgentObservation, MultiAgentSpec


class MultiAgentEnvironment(dm_env.Environment, abc.ABC):
    """A dm_env environment whose observations, rewards and discounts are per-agent dicts.

    ``reset()`` returns a FIRST timestep whose reward and discount are per-agent zeros and
    ones (not ``None``) so every consumer sees the same structure at every step.
    ``step(actions)`` takes a dict from agent id to action: for a sequential (turn-based)
    environment only the agents named in ``current_agents()`` act.
    """

    @abc.abstractmethod
    def multi_agent_spec(self) -> MultiAgentSpec:
        """Per-agent observation/action/reward specs, global state and turn order."""

    def get_state(self) -> Optional[np.ndarray]:
        """The environment's global state, when ``multi_agent_spec().state`` is not None."""
        return None

    def current_agents(self):
        """Agents that must act on the next ``step``: all of them in a parallel environment."""
        return self.multi_agent_spec().agent_ids

    def metrics(self) -> Dict[str, float]:
        """Environment-specific episode metrics (win rate, done rate, ...), read at episode end."""
        return {}

    # State that must outlive this object (e.g. a wrapper's normalisation statistics): executors
    # save it with the run's checkpoints, a resumed executor and ``mava evaluate`` restore it.
    def saved_state(self) -> Dict[str, Any]:
        """JSON-ready state to carry over to a later environment of the same run (``{}``: none)."""
        return {}

    def restore_saved_state(self, state: Mapping[str, Any]) -> None:
        """Take over what :meth:`saved_state` returned; a ValueError says what does not fit."""

    def merge_saved_states(self, states: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        """One state standing for several environments' (``mava evaluate`` merges the executors')."""
        return {}

    # dm_env's single-agent accessors, answered per agent.
    def observation_spec(self):
        return {aid: a.observation for aid, a in self.multi_agent_spec().agents.items()}

    def action_spec(self):
        return {aid: a.action for aid, a in self.multi_agent_spec().agents.items()}

    def reward_spec(self):
        return {aid: a.reward for aid, a in self.multi_agent_spec().agents.items()}

    def discount_spec(self):
        return {aid: a.discount for aid, a in self.multi_agent_spec().agents.items()}


class EnvironmentWrapper(MultiAgentEnvironment):
    """Delegates everything to an inner multi-agent environment."""

    def __init__(self, environment: MultiAgentEnvironment):
        self._environment = environment

    @property
    def environment(self) -> MultiAgentEnvironment:
        return self._environment

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._environment.multi_agent_spec()

    def reset(self) -> dm_env.TimeStep:
        return self._environment.reset()

    def step(self, actions) -> dm_env.TimeStep:
        return self._environment.step(actions)

    def get_state(self):
        return self._environment.get_state()

    def current_agents(self):
        return self._environment.current_agents()

    def metrics(self):
        return self._environment.metrics()

    def render(self, *args, **kwargs):
        return self._environment.render(*args, **kwargs)

    def close(self):
        return self._environment.close()

    #: key of this wrapper's entry in :meth:`saved_state`; a wrapper with state to carry over
    #: sets it and implements ``own_state``, ``restore_own_state`` and ``merge_own_states``
    state_key: Optional[str] = None

    def own_state(self) -> Any:
        """This wrapper's part of :meth:`saved_state` (JSON-ready)."""
        raise NotImplementedError

    def restore_own_state(self, state: Any) -> None:
        """Take over :meth:`own_state`'s value of an earlier environment; a ValueError says what does not fit."""
        raise NotImplementedError

    def merge_own_states(self, states: Sequence[Any]) -> Any:
        """One :meth:`own_state` value standing for several environments'."""
        raise NotImplementedError

    def saved_state(self) -> Dict[str, Any]:
        state = dict(self._environment.saved_state())
        if self.state_key is not None:
            state[self.state_key] = self.own_state()
        return state

    def restore_saved_state(self, state: Mapping[str, Any]) -> None:
        self._environment.restore_saved_state(state)
        if self.state_key is not None and self.state_key in state:
            try:
                self.restore_own_state(state[self.state_key])
            except ValueError as error:
                raise ValueError(f"{self.state_key}: {error}") from None

    def merge_saved_states(self, states: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        merged = dict(self._environment.merge_saved_states(states))
        own = [s[self.state_key] for s in states if self.state_key is not None and self.state_key in s]
        if own:
            try:
                merged[self.state_key] = self.merge_own_states(own)
            except ValueError as error:
                raise ValueError(f"{self.state_key}: {error}") from None
        return merged

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._environment, name)


class ContractCheckedEnvironment(EnvironmentWrapper):
    """Checks every timestep against the spec and fails with a message that names the problem.

    Catches wrong-shaped or non-numeric observations, non-finite observations or rewards,
    discounts outside [0, 1], unknown agents, agents missing from a parallel environment's
    timestep, and masks of the wrong size. The checks are numpy-only, every step, and cost
    a few microseconds per agent (``benchmarks/acting_throughput.py`` measures them).
    """

    def __init__(self, environment: MultiAgentEnvironment, name: str = "environment"):
        super().__init__(environment)
        self._name = name
        self._spec = environment.multi_agent_spec()
        # per agent: (observation shape, action-mask shape or None), looked up once per step
        self._shapes = {
            agent_id: (tuple(agent.observation.shape), (agent.num_actions,) if agent.discrete else None)
            for agent_id, agent in self._spec.agents.items()
        }

    def reset(self) -> dm_env.TimeStep:
        timestep = self._environment.reset()
        self._check(timestep, "reset()")
        return timestep

    def step(self, actions) -> dm_env.TimeStep:
        timestep = self._environment.step(actions)
        self._check(timestep, "step()")
        return timestep

    def _fail(self, where: str, problem: str):
        raise EnvironmentContractError(f"{self._name} {where}: {problem}")

    def _check(self, timestep: dm_env.TimeStep, where: str) -> None:
        observations = timestep.observation
        if not isinstance(observations, Mapping):
            self._fail(where, f"observation must be a dict keyed by agent id, got {type(observations).__name__}")
        shapes = self._shapes
        for agent_id, obs in observations.items():
            expected = shapes.get(agent_id)
            if expected is None:
                self._fail(where, f"observation for unknown agent {agent_id!r}; spec has {self._spec.agent_ids}")
            if not isinstance(obs, AgentObservation):
                self._fail(
                    where, f"agent {agent_id!r}: observation must be an AgentObservation, got {type(obs).__name__}"
                )
            array = obs.observation
            if not isinstance(array, np.ndarray):
                array = np.asarray(array)
            kind = array.dtype.kind  # (f)loat, (i)nt, (u)int, (b)ool, (c)omplex are numbers
            if kind not in "fiubc":
                self._fail(where, f"agent {agent_id!r}: observation has non-numeric dtype {array.dtype}")
            observation_shape, mask_shape = expected
            if array.shape != observation_shape:
                self._fail(
                    where,
                    f"agent {agent_id!r}: observation shape {array.shape} does not match the spec's "
                    f"{observation_shape}",
                )
            # a finite sum of squares means every element is finite (one BLAS call, no numpy
            # warning); only a non-finite one, which large finite elements can also give, is looked at closely
            if kind in "fc" and not _finite_squares(array) and not np.isfinite(array).all():
                self._fail(where, f"agent {agent_id!r}: observation contains NaN or Inf")
            if mask_shape is not None and np.shape(obs.action_mask) != mask_shape:
                self._fail(
                    where, f"agent {agent_id!r}: action mask shape {np.shape(obs.action_mask)} should be {mask_shape}"
                )
        if self._spec.kind == PARALLEL and len(observations) != self._spec.num_agents:
            missing = [agent for agent in self._spec.agents if agent not in observations]
            self._fail(
                where, f"agents {missing} are missing from the observation (a parallel environment reports every agent)"
            )
        rewards = timestep.reward
        if rewards is not None:
            for agent_id, reward in rewards.items():
                if not _finite(reward):
                    self._fail(where, f"agent {agent_id!r}: reward is {reward!r} (NaN or Inf)")
        discounts = timestep.discount
        if discounts is not None:
            for agent_id, discount in discounts.items():
                if not 0.0 <= float(discount) <= 1.0:  # also false for NaN
                    self._fail(where, f"agent {agent_id!r}: discount is {discount!r}; discounts lie in [0, 1]")


def _finite_squares(array: np.ndarray) -> bool:
    """Whether the sum of squares of a float array is finite (False for complex arrays: check those exactly)."""
    if array.dtype.kind != "f":
        return False
    flat = array if array.ndim == 1 else array.reshape(-1)
    return math.isfinite(flat.dot(flat))


def _finite(value: Any) -> bool:
    """Whether a reward (a Python or numpy scalar, or an array) holds no NaN or Inf."""
    if isinstance(value, (float, int, np.floating, np.integer)):
        return math.isfinite(value)
    return bool(np.all(np.isfinite(value)))


def first_timestep(spec: MultiAgentSpec, observations: Dict[str, AgentObservation]) -> dm_env.TimeStep:
    """A FIRST timestep with per-agent zero rewards and unit discounts."""
    return dm_env.TimeStep(
        dm_env.StepType.FIRST,
        {aid: np.float32(0.0) for aid in spec.agents},
        {aid: np.float32(1.0) for aid in spec.agents},
        observations,
    )


def next_timestep(
    observations: Dict[str, AgentObservation],
    rewards: Dict[str, float],
    discounts: Dict[str, float],
    last: bool,
) -> dm_env.TimeStep:
    """A MID or LAST timestep; rewards and discounts are cast to float32 per agent."""
    return dm_env.TimeStep(
        dm_env.StepType.LAST if last else dm_env.StepType.MID,
        {aid: np.float32(r) for aid, r in rewards.items()},
        {aid: np.float32(d) for aid, d in discounts.items()},
        observations,
    )
