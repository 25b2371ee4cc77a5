"""The stacked transition layout: one ``[agents, ...]`` column per field when agents share a spec.

The adder writes, the table declares and the iterator reads the same layout; learners get
per-agent dicts either way, so a stacked and a per-agent table must hand a learner the same
transitions for the same writes.
"""
from __future__ import annotations

import numpy as np
import pytest

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder
from mava_plugins.datasets.transitions import PER_AGENT_FIELDS, homogeneous_agents, transition_signature

STEPS = 12  # every written transition fits one batch


def _builder(tmp_path, stack: bool, environment: str = "debug:simple_spread") -> SystemBuilder:
    run = RunConfig(system="madqn", environment=environment, env_steps=100, run_dir=str(tmp_path), loggers=("csv",))
    overrides = {"dataset.stack_agents": stack, "dataset.min_size": STEPS, "dataset.batch_size": 4 * STEPS,
                 "dataset.prefetch": 0}
    return SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager())


def _write_and_sample(builder: SystemBuilder, seed: int = 3):
    """Write STEPS transitions of a seeded random-action rollout; return (written rows, one sampled batch)."""
    import reverb

    server = reverb.Server(builder.make_replay_tables())
    try:
        client = reverb.Client(f"localhost:{server.port}")
        adder = builder.dataset.adder(builder, client)
        environment = builder.make_environment(seed)
        spec, rng = builder.env_spec, np.random.default_rng(seed)
        written = []  # per step: {agent: (observation, action, reward, next observation)}
        timestep = environment.reset()
        adder.add_first(timestep, {"state": environment.get_state()})
        for _ in range(STEPS):
            actions = {a: np.int32(rng.integers(s.num_actions)) for a, s in spec.agents.items()}
            next_timestep = environment.step(actions)
            written.append({a: (timestep.observation[a].observation, int(actions[a]), float(next_timestep.reward[a]),
                                next_timestep.observation[a].observation) for a in spec.agents})
            adder.add(actions, next_timestep, {"state": environment.get_state()})
            timestep = next_timestep
        adder.flush()
        batch = next(builder.dataset.iterator(builder, f"localhost:{server.port}"))
        return written, batch.data
    finally:
        server.stop()


def test_the_stacked_signature_has_one_column_per_field(tmp_path):
    spec = _builder(tmp_path, stack=True).env_spec
    assert homogeneous_agents(spec)
    signature = transition_signature(spec, stacked=True)
    agent_spec = next(iter(spec.agents.values()))
    assert signature["observations"].shape == (3, *agent_spec.observation.shape) and signature["actions"].shape == (3,)
    assert signature["masks"].shape == (3, agent_spec.num_actions) and signature["rewards"].shape == (3,)
    assert signature["state"].shape == spec.state.shape  # the global state is not per agent
    per_agent = transition_signature(spec)
    assert set(per_agent["observations"]) == set(spec.agents)
    flat = sum(len(per_agent[field]) for field in PER_AGENT_FIELDS)
    assert flat == 7 * 3 and all(not isinstance(signature[field], dict) for field in PER_AGENT_FIELDS)


def test_two_step_agents_share_a_spec_and_a_single_agent_is_never_stacked(tmp_path):
    import dataclasses

    spec = _builder(tmp_path, stack=True, environment="debug:two_step").env_spec
    assert homogeneous_agents(spec)
    (first, agent_spec), *_ = spec.agents.items()
    assert not homogeneous_agents(dataclasses.replace(spec, agents={first: agent_spec}))


@pytest.mark.parametrize("stack", [True, False])
def test_a_learner_gets_each_agents_own_transitions_in_either_layout(tmp_path, stack):
    builder = _builder(tmp_path, stack)
    assert builder.dataset.stacked(builder) is stack
    written, data = _write_and_sample(builder)
    agents = list(builder.env_spec.agents)
    assert set(data["observations"]) == set(agents)  # per-agent dicts, whatever the table's layout
    for agent in agents:
        assert data["observations"][agent].shape == (4 * STEPS, *builder.env_spec.agents[agent].observation.shape)
        rows = {np.asarray(step[agent][0]).tobytes(): step[agent] for step in written}
        for i in range(4 * STEPS):  # each sampled row is one this agent wrote, whole (not another agent's)
            observation, action, reward, next_observation = rows[data["observations"][agent][i].numpy().tobytes()]
            assert int(data["actions"][agent][i]) == action
            assert float(data["rewards"][agent][i]) == pytest.approx(reward)
            np.testing.assert_array_equal(data["next_observations"][agent][i].numpy(), next_observation)

