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


def _builder(tmp_path, stack: bool, environment: str = "debug:simple_spread", copies: int = 1,
             **overrides) -> SystemBuilder:
    run = RunConfig(system="madqn", environment=environment, env_steps=100, run_dir=str(tmp_path), loggers=("csv",),
                    envs_per_executor=copies)
    overrides = {"dataset.stack_agents": stack, "dataset.min_size": STEPS, "dataset.batch_size": 4 * STEPS,
                 "dataset.prefetch": 0, **overrides}
    return SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager())


def _write_and_sample(builder: SystemBuilder, seed: int = 3, copies: int = 1):
    """Write STEPS transitions of seeded random-action rollouts in ``copies`` environments sharing one
    client (as an executor's copies do); return (written rows, one sampled batch, items in the table, adders)."""
    import reverb

    server = reverb.Server(builder.make_replay_tables())
    try:
        client = reverb.Client(f"localhost:{server.port}")
        adders = [builder.dataset.adder(builder, client) for _ in range(copies)]
        environments = [builder.make_environment(seed + copy) for copy in range(copies)]
        spec, rng = builder.env_spec, np.random.default_rng(seed)
        written = []  # per step: {agent: (observation, action, reward, next observation)}
        timesteps = [environment.reset() for environment in environments]
        for adder, environment, timestep in zip(adders, environments, timesteps):
            adder.add_first(timestep, {"state": environment.get_state()})
        for _ in range(STEPS // copies):
            for copy, (adder, environment) in enumerate(zip(adders, environments)):
                actions = {a: np.int32(rng.integers(s.num_actions)) for a, s in spec.agents.items()}
                next_timestep = environment.step(actions)
                written.append({a: (timesteps[copy].observation[a].observation, int(actions[a]),
                                    float(next_timestep.reward[a]), next_timestep.observation[a].observation)
                                for a in spec.agents})
                adder.add(actions, next_timestep, {"state": environment.get_state()})
                timesteps[copy] = next_timestep
        for adder in adders:
            adder.flush()
        items = client.server_info()["transitions"].current_size
        batch = next(builder.dataset.iterator(builder, f"localhost:{server.port}"))
        return written, batch, items, adders
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
    written, batch, _, _ = _write_and_sample(builder)
    _assert_each_row_was_written(builder, written, batch.data)


def _assert_each_row_was_written(builder, written, data):
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



# ----------------------------------------------------------------------------------- blocks
@pytest.mark.parametrize("stack", [True, False])
def test_an_executors_copies_share_blocks_and_a_learner_still_gets_single_transitions(tmp_path, stack):
    """Four copies feed one block writer: STEPS transitions are STEPS / 4 items, sampled back as transitions."""
    builder = _builder(tmp_path, stack, copies=4)
    assert builder.dataset.block(builder) == 4  # block_size 0: gcd(envs_per_executor, batch_size)
    signature = transition_signature(builder.env_spec, stacked=stack, block=4)
    assert signature["state"].shape == (4, *builder.env_spec.state.shape)
    written, batch, items, adders = _write_and_sample(builder, copies=4)
    assert items == STEPS // 4 and sum(adder.items_written for adder in adders) == items
    _assert_each_row_was_written(builder, written, batch.data)
    keys = batch.info.key.numpy()  # each sampled block is 4 consecutive rows with one key
    assert keys.shape == (4 * STEPS,) and all(len(set(keys[i:i + 4])) == 1 for i in range(0, 4 * STEPS, 4))


def test_a_block_size_that_does_not_divide_the_batch_is_refused(tmp_path):
    from mava_core.errors import ConfigError

    builder = _builder(tmp_path, True, **{"dataset.block_size": 5})
    with pytest.raises(ConfigError, match=r"dataset\.block_size.*batch_size \(48\) is not a multiple of the block"):
        builder.make_replay_tables()


def test_an_incomplete_block_waits_and_is_credited_to_the_copy_that_completes_it():
    from mava_plugins.datasets.transition_writers import BlockTransitionWriter

    class FakeTrajectoryWriter:
        def __init__(self):
            self.appended, self.items = [], []
            self.history = None

        def append(self, step):
            self.appended.append(step)
            self.history = {k: [v] for k, v in step.items()}

        def create_item(self, table, priority, trajectory):
            self.items.append(trajectory)

    class FakeClient:
        def trajectory_writer(self, num_keep_alive_refs):
            self.writer = FakeTrajectoryWriter()
            return self.writer

    client = FakeClient()
    writer = BlockTransitionWriter(client, "transitions", block=3)
    credits = [writer.write({"x": np.full(2, i, np.float32)}, lambda: False) for i in range(7)]
    assert credits == [0, 0, 1, 0, 0, 1, 0] and writer.pending == 1
    blocks = [step["x"].tolist() for step in client.writer.appended]
    assert blocks == [[[0, 0], [1, 1], [2, 2]], [[3, 3], [4, 4], [5, 5]]]


def test_a_sampled_blocks_priority_is_its_largest_new_priority():
    from mava_plugins.datasets.transition_replay import write_priorities

    class Client:
        def mutate_priorities(self, table, updates):
            self.updates = updates

    client = Client()
    write_priorities(client, "transitions", np.array([7, 7, 7, 9]), np.array([0.5, 2.0, 1.0, 0.25]))
    assert client.updates == pytest.approx({7: 2.0, 9: 0.25}, abs=1e-5)


@pytest.mark.parametrize("copies, block, n_step, first_due", [(1, 1, 1, STEPS + 3), (4, 4, 1, STEPS + 3 + 3),
                                                               (4, 4, 3, STEPS + 3 + 3 + 8)])
def test_interleaved_training_waits_until_min_size_transitions_are_surely_in_the_table(tmp_path, copies, block, n_step,
                                                                                     first_due):
    """Each copy holds n_step - 1 unfinished steps and an executor up to block - 1 transitions of an unsent block."""
    builder = _builder(tmp_path, True, copies=copies, **{"dataset.n_step": n_step, "dataset.batch_size": 64})
    builder.make_replay_tables()
    dataset = builder.dataset
    assert dataset.block(builder) == block
    assert dataset.trainer_steps_due(first_due - 1) == 0 and dataset.trainer_steps_due(first_due) == 1
