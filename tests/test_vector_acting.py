"""Vectorised acting (``run.envs_per_executor``): one batched policy call over K environment copies."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import local_run
from test_madqn import TWO_STEP_OVERRIDES

from mava_core.config import RunConfig
from mava_core.counting import Counter
from mava_core.errors import ConfigError
from mava_core.plugins import PluginManager
from mava_core.specs import AgentObservation
from mava_core.system import SystemBuilder
from mava_core.vector_loop import VectorEnvironmentLoop
from mava_core.workers import ExecutorWorker

pytest.importorskip("tensorflow")
reverb = pytest.importorskip("reverb")

SPREAD = "debug:simple_spread"  # 3 agents, 25-step episodes
EPISODE = 25


def _builder(tmp_path, system="madqn", environment=SPREAD, copies=4, overrides=None, pm=None):
    run = RunConfig(system=system, environment=environment, envs_per_executor=copies, loggers=("csv",), run_dir=str(tmp_path))
    return SystemBuilder(run, overrides=overrides or {}, plugin_manager=pm or PluginManager())


def _random_observations(spec, copies, rng):
    """``copies`` observation dicts with random observations and random non-empty legal-action masks."""
    batch = []
    for _ in range(copies):
        observations = {}
        for agent, agent_spec in spec.agents.items():
            mask = (rng.random(agent_spec.num_actions) < 0.5).astype(np.float32)
            mask[rng.integers(agent_spec.num_actions)] = 1.0
            obs = rng.normal(size=agent_spec.observation.shape).astype(np.float32)
            observations[agent] = AgentObservation(obs, mask)
        batch.append(observations)
    return batch


@pytest.mark.parametrize("shared_weights", [True, False])
def test_batched_greedy_actions_equal_the_single_copy_path(tmp_path, shared_weights):
    """One call over 4 copies gives each copy the actions the K=1 path (and a plain masked argmax) gives it."""
    import tensorflow as tf

    builder = _builder(tmp_path, overrides={"architecture.shared_weights": shared_weights})
    networks = builder.system.make_networks()
    policy = builder.system.make_policy(networks, evaluation=True, seed=0)
    batch = _random_observations(builder.env_spec, 4, np.random.default_rng(0))
    vectorised = policy.select_actions_batch(batch)
    assert vectorised == [policy.select_actions(observations) for observations in batch]
    for observations, actions in zip(batch, vectorised):
        for agent, agent_obs in observations.items():
            key = next(k for k, agents in networks.groups.items() if agent in agents)
            q = networks.online[key](tf.constant(agent_obs.observation[None])).numpy()[0]
            assert actions[agent] == int(np.argmax(np.where(agent_obs.action_mask > 0, q, -np.inf)))
    # the copies' observations differ, so (with 5 actions) their greedy actions are not all equal
    assert len({tuple(sorted(a.items())) for a in vectorised}) > 1


def test_batched_exploration_takes_only_legal_actions_and_varies(tmp_path):
    builder = _builder(tmp_path)
    policy = builder.system.make_policy(builder.system.make_networks(), evaluation=False, seed=3)
    assert policy.epsilon == 1.0  # the exploration schedule starts fully random
    rng = np.random.default_rng(1)
    batch = _random_observations(builder.env_spec, 16, rng)
    chosen = set()
    for _ in range(5):
        for observations, actions in zip(batch, policy.select_actions_batch(batch)):
            for agent, action in actions.items():
                assert observations[agent].action_mask[action] == 1.0
                assert isinstance(action, np.int32)
                chosen.add((agent, int(action)))
    assert len(chosen) >= 10  # random legal actions, not one fixed choice


def _replay(builder):
    server = reverb.Server(builder.make_replay_tables(), port=None)
    return server, f"localhost:{server.port}"


def _close(worker):
    """Close the worker and its copies' Reverb writers (an open writer holds up the server's stop)."""
    worker.close()
    for executor in worker.loop.executors:
        executor.adder.close()


def test_a_vector_step_writes_k_transitions_and_counts_k_env_steps(tmp_path):
    """K=4: 30 vector steps are 120 env steps, 4 episodes (one per copy, distinctly seeded), 120 transitions
    in 30 Reverb items (blocks of 4, ``dataset.block_size`` 0)."""
    counts = {}
    for copies in (1, 4):
        builder = _builder(tmp_path / str(copies), copies=copies, overrides={"dataset.min_size": 10_000})
        server, address = _replay(builder)
        try:
            counter = Counter()
            worker = ExecutorWorker(builder, 0, address, None, counter, stop=lambda: None)
            worker.count_every = 1
            results = worker.act(30)
            for executor in worker.loop.executors:
                executor.adder.flush()  # the writers send their items asynchronously
            size = reverb.Client(address).server_info()["transitions"].current_size
            counts[copies] = (size, counter.get_counts(), results, worker.loop)
            _close(worker)
        finally:
            server.stop()
    size_1, counts_1, results_1, _ = counts[1]
    size_4, counts_4, results_4, loop = counts[4]
    assert size_1 == 30 and size_4 == 30 and loop.executor.adder._writer.block == 4
    assert counts_1["env_steps"] == 30 and counts_4["env_steps"] == 120
    assert counts_1["episodes"] == 1 and counts_4["episodes"] == 4
    assert isinstance(loop, VectorEnvironmentLoop) and loop.num_envs == 4
    assert [r["episode_length"] for r in results_4] == [EPISODE] * 4
    assert sorted(r["env_copy"] for r in results_4) == [0, 1, 2, 3]
    assert [r["episodes"] for r in results_4] == [1, 2, 3, 4]  # the executor's count over its copies
    assert [r["env_steps"] for r in results_4] == [4 * EPISODE] * 4  # all ended at vector step 25
    # every copy keeps its own adder (its own n-step window), its own episode and seed; the copies'
    # adders share one block writer, which credits each block to the copy whose transition completed it
    adders = [executor.adder for executor in loop.executors]
    assert len({id(adder) for adder in adders}) == 4 and len({id(adder._writer) for adder in adders}) == 1
    assert [adder.items_written for adder in adders] == [0, 0, 0, 30]
    assert len({executor.policy for executor in loop.executors}) == 1
    assert len({round(r["episode_return"], 6) for r in results_4}) == 4
    # auto-reset: after its episode ended every copy is 5 steps into a new one
    assert [copy.steps for copy in loop.loops] == [30] * 4


def test_one_policy_call_per_vector_step(tmp_path, monkeypatch):
    """The hot path calls the compiled policy once per step of all copies, never per agent or copy."""
    builder = _builder(tmp_path, overrides={"dataset.min_size": 10_000})
    server, address = _replay(builder)
    try:
        worker = ExecutorWorker(builder, 0, address, None, Counter(), stop=lambda: None)
        policy = worker.loop.executor.policy
        calls = []
        compiled = policy._greedy

        def counting(observations, masks):
            calls.append(observations[0].shape[0])
            return compiled(observations, masks)

        monkeypatch.setattr(policy, "_greedy", counting)
        worker.act(10)
        assert calls == [4 * 3] * 10  # one call over 4 copies x 3 agents (shared weights) per step
        _close(worker)
    finally:
        server.stop()


@pytest.mark.parametrize("system", ["recurrent_madqn", "mappo", "maddpg"])
def test_systems_without_batched_acting_refuse_several_copies(tmp_path, system):
    builder = _builder(tmp_path, system=system, copies=2)
    with pytest.raises(ConfigError, match=r"run.envs_per_executor.*set run.envs_per_executor=1") as info:
        builder.build_program()
    assert info.value.key == "run.envs_per_executor"


def test_envs_per_executor_is_validated(tmp_path):
    with pytest.raises(ConfigError, match="run.envs_per_executor.*>= 1"):
        _builder(tmp_path, copies=0)


def test_madqn_learns_the_two_step_game_with_four_copies(tmp_path):
    """K=4 executors still learn: joint return 7 (random play averages 4.75)."""
    summary, _ = local_run(
        tmp_path, "madqn", "debug:two_step", env_steps=2_000, eval_episodes=4, random_baseline_episodes=400,
        overrides={**TWO_STEP_OVERRIDES, "run.envs_per_executor": 4},
    )
    assert summary["random_return"] == pytest.approx(4.75, abs=0.6)
    assert summary["final_mean_return"] >= 7.0 - 1e-3
    assert summary["env_steps"] == 2_000  # 500 vector steps of 4 copies
    assert summary["trainer_steps"] > 500
