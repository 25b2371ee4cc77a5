"""Rollout and timestep checks shared by the environment tests (parallel and turn-based specs alike)."""
from __future__ import annotations

import numbers
from typing import Dict, List, Optional, Tuple

import dm_env
import numpy as np

from mava_core.environment import MultiAgentEnvironment
from mava_core.specs import SEQUENTIAL, AgentObservation, MultiAgentSpec

MAX_STEPS = 500


def acting_agents(env: MultiAgentEnvironment, spec: MultiAgentSpec) -> List[str]:
    """The agents whose actions the next step uses: every agent, or the one whose turn it is."""
    if spec.kind != SEQUENTIAL:
        return list(spec.agents)
    current = list(env.current_agents())
    assert current, "a turn-based environment names the agent to act while the episode runs"
    assert set(current) <= set(spec.agents), f"current_agents() {current} are not all in the spec"
    return current


def random_actions(spec: MultiAgentSpec, timestep: dm_env.TimeStep, rng: np.random.Generator, agents=None) -> Dict[str, object]:
    """Uniformly random actions for ``agents`` (default: all); discrete ones among the legal actions only."""
    actions = {}
    for agent_id in agents if agents is not None else spec.agents:
        agent = spec.agents[agent_id]
        if agent.discrete:
            legal = np.flatnonzero(timestep.observation[agent_id].action_mask)
            actions[agent_id] = np.int32(rng.choice(legal))
        else:
            low = np.broadcast_to(agent.action.minimum, agent.action.shape)
            high = np.broadcast_to(agent.action.maximum, agent.action.shape)
            actions[agent_id] = rng.uniform(low, high).astype(np.float32)
    return actions


def check_timestep(spec: MultiAgentSpec, timestep: dm_env.TimeStep) -> None:
    """Every agent of the spec is in the timestep, with observation, mask, reward and discount as declared."""
    assert set(timestep.observation) == set(spec.agents)
    assert set(timestep.reward) == set(spec.agents)
    assert set(timestep.discount) == set(spec.agents)
    for agent_id, agent in spec.agents.items():
        obs = timestep.observation[agent_id]
        assert isinstance(obs, AgentObservation)
        assert obs.observation.shape == tuple(agent.observation.shape)
        assert obs.observation.dtype == agent.observation.dtype == np.float32
        assert obs.action_mask.shape == (agent.num_actions,)
        assert obs.action_mask.dtype == np.float32
        assert obs.action_mask.any()
        assert set(np.unique(obs.action_mask)) <= {0.0, 1.0}, f"{agent_id}: mask entries must be 0 or 1"
        reward, discount = timestep.reward[agent_id], timestep.discount[agent_id]
        assert np.asarray(reward).dtype == np.float32 and np.asarray(reward).shape == ()
        assert np.asarray(discount).dtype == np.float32 and 0.0 <= discount <= 1.0


def run_episode(
    env: MultiAgentEnvironment, seed: int = 0, max_steps: int = MAX_STEPS, steps: Optional[List[Tuple[Dict, dm_env.TimeStep]]] = None
) -> List[dm_env.TimeStep]:
    """One episode of random legal actions, checking every timestep; returns the timesteps.

    Turn-based environments get the acting agent's action only, as the environment loop sends
    them. ``steps``, when given, receives ``(actions, next timestep)`` for every step.
    """
    spec = env.multi_agent_spec()
    rng = np.random.default_rng(seed)
    timestep = env.reset()
    assert timestep.first()
    check_timestep(spec, timestep)
    trajectory = [timestep]
    for _ in range(max_steps):
        agents = acting_agents(env, spec)
        actions = random_actions(spec, timestep, rng, agents)
        for agent_id in agents:
            spec.agents[agent_id].action.validate(actions[agent_id])
        timestep = env.step(actions)
        check_timestep(spec, timestep)
        if steps is not None:
            steps.append((actions, timestep))
        if spec.state is not None:
            state = env.get_state()
            assert state.shape == tuple(spec.state.shape) and state.dtype == np.float32
        trajectory.append(timestep)
        if timestep.last():
            break
    assert timestep.last(), f"no LAST within {max_steps} steps"
    assert all(t.mid() for t in trajectory[1:-1])
    metrics = env.metrics()
    assert isinstance(metrics, dict)
    for key, value in metrics.items():
        assert isinstance(key, str) and isinstance(value, numbers.Real), f"metric {key!r} = {value!r} is not a number"
    return trajectory


def assert_same_trajectory(first: List[dm_env.TimeStep], second: List[dm_env.TimeStep]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.step_type == b.step_type
        for agent_id in a.observation:
            np.testing.assert_array_equal(a.observation[agent_id].observation, b.observation[agent_id].observation)
            np.testing.assert_array_equal(a.observation[agent_id].action_mask, b.observation[agent_id].action_mask)
            assert a.reward[agent_id] == b.reward[agent_id]
            assert a.discount[agent_id] == b.discount[agent_id]
