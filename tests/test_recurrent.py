"""Recurrent (GRU) agents for MADQN, VDN and QMIX: memory, burn-in, padding, learning, Launchpad.

* ``cue:recall`` (registered here on a fresh plugin manager) shows each agent a cue at the
  first step only and pays it at the last step for repeating the cue: a feedforward agent
  sees the same observation at the answer step whatever the cue, so it can do no better
  than always answering the more frequent cue, while a recurrent agent can remember it.
* Unit tests of the sequence adder's layout (overlap, padding, validity, stored state), of
  burn-in in the learner (the loss ignores the burn-in steps), of the unroll from a stored
  state (equal to stepping the executor's policy), and of the config checks.
"""
from __future__ import annotations

import types
from typing import Any, Dict, List

import dm_env
import numpy as np
import pytest
from dm_env import specs
from helpers import (
    ParameterTrace,
    assert_parameters_reached_acting_nodes,
    assert_training_changed_the_outcome,
    launchpad_run,
    local_run,
    read_csv,
    two_step_run,
)

from mava_core.config import RunConfig
from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError
from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_core.system import SystemBuilder


# -------------------------------------------------------------------------- memory task
class CueRecall(MultiAgentEnvironment):
    """Each agent sees a random cue (0 or 1) at the first step only and must repeat it at the last.

    Observations are ``[cue == 0, cue == 1, t / (length - 1), answer now]``; the cue part is
    zero after the first step. The last step (``delay + 2`` steps per episode) pays 1 to each
    agent whose action equals its cue; nothing else is paid. Every agent's cues are logged.
    """

    AGENTS = ["agent_0", "agent_1"]

    def __init__(self, seed: int, log: Dict[int, List[List[int]]], delay: int = 2):
        self._rng = np.random.default_rng(seed)
        self._log = log.setdefault(seed, [])
        self._length = delay + 2
        self._spec = MultiAgentSpec(
            agents={
                aid: AgentSpec(
                    observation=specs.Array((4,), np.float32, "observation"),
                    action=specs.DiscreteArray(2, dtype=np.int32, name="action"),
                )
                for aid in self.AGENTS
            }
        )
        self._mask = np.ones(2, np.float32)
        self._cues: Dict[str, int] = {}
        self._t = 0

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _observe(self) -> Dict[str, AgentObservation]:
        observations = {}
        for aid in self.AGENTS:
            obs = np.zeros(4, np.float32)
            if self._t == 0:
                obs[self._cues[aid]] = 1.0
            obs[2] = self._t / (self._length - 1)
            obs[3] = float(self._t == self._length - 1)
            observations[aid] = AgentObservation(obs, self._mask)
        return observations

    def reset(self) -> dm_env.TimeStep:
        self._t = 0
        self._cues = {aid: int(self._rng.integers(2)) for aid in self.AGENTS}
        self._log.append([self._cues[a] for a in self.AGENTS])
        return first_timestep(self._spec, self._observe())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        answering = self._t == self._length - 1
        rewards = {aid: float(answering and int(actions[aid]) == self._cues[aid]) for aid in self.AGENTS}
        self._t += 1
        observations = self._observe() if not answering else {
            aid: AgentObservation(np.zeros(4, np.float32), self._mask) for aid in self.AGENTS
        }
        return next_timestep(observations, rewards, dict.fromkeys(self.AGENTS, 0.0 if answering else 1.0), answering)


class CuePlugin:
    """Registers the ``cue`` environment family (task ``recall``) for one test run."""

    name = "cue_recall"

    def __init__(self):
        self.log: Dict[int, List[List[int]]] = {}
        plugin = self

        class Family:
            name = "cue"
            default_task = "recall"

            @classmethod
            def tasks(cls):
                return ["recall"]

            @classmethod
            def make(cls, task="recall", seed=0, **options):
                return CueRecall(seed, plugin.log, **options)

        self.family = Family

    @hookimpl
    def mava_register(self, registry):
        registry.add("environment", "cue", self.family, description="remember a cue shown at the first step")


CUE_STEPS = 3_000
CUE_EVAL_EPISODES = 20
CUE = {
    "dataset.sequence_length": 8,
    "dataset.burn_in": 2,
    "dataset.period": 5,
    "dataset.min_size": 50,
    "dataset.batch_size": 16,
    "dataset.samples_per_insert": 8.0,
    "network.torso_sizes": "32",
    "network.core_size": 32,
    "exploration.decay_steps": 1_500,
    "target_update_period": 50,
    "learning_rate": 0.005,
    "discount": 0.9,
}


def _feedforward_maximum(cues: List[List[int]]) -> float:
    """Best mean return a memoryless policy can get on these episodes: always answer the majority cue."""
    cues = np.asarray(cues)  # [episodes, agents]
    return float(np.mean([max(np.mean(column == 0), np.mean(column == 1)) for column in cues.T]))


def test_recurrent_madqn_remembers_the_cue_where_feedforward_cannot(tmp_path):
    plugin = CuePlugin()
    pm = PluginManager()
    pm.register(plugin, name=plugin.name)
    summary, builder = local_run(
        tmp_path, "recurrent_madqn", "cue:recall", env_steps=CUE_STEPS, overrides=CUE, seed=0,
        eval_episodes=CUE_EVAL_EPISODES, random_baseline_episodes=50, plugin_manager=pm,
    )
    evaluation_cues = plugin.log[builder.executor_seed(0, evaluation=True)][-CUE_EVAL_EPISODES:]
    feedforward_max = _feedforward_maximum(evaluation_cues)
    assert feedforward_max <= 0.75
    assert summary["random_return"] == pytest.approx(0.5, abs=0.15)
    assert summary["final_mean_return"] >= feedforward_max + 0.25, summary["evaluations"]
    assert summary["final_mean_return"] >= 0.9
    assert summary["trainer_steps"] > 100
    # a feedforward MADQN on the same task, seed and budget: bounded by the memoryless maximum
    plugin_ff = CuePlugin()
    pm_ff = PluginManager()
    pm_ff.register(plugin_ff, name=plugin_ff.name)
    feedforward = {k: v for k, v in CUE.items() if not k.startswith(("dataset.", "network."))}
    ff_summary, _ = local_run(
        tmp_path / "feedforward", "madqn", "cue:recall", env_steps=CUE_STEPS,
        overrides={**feedforward, "dataset.min_size": 200, "dataset.batch_size": 16}, seed=0,
        eval_episodes=CUE_EVAL_EPISODES, random_baseline_episodes=1, plugin_manager=pm_ff,
    )
    assert plugin_ff.log[builder.executor_seed(0, evaluation=True)][-CUE_EVAL_EPISODES:] == evaluation_cues
    assert ff_summary["final_mean_return"] <= feedforward_max + 1e-6


# ------------------------------------------------------------------- unit-test fixtures
def _builder(tmp_path, system="recurrent_madqn", environment="cue:recall", overrides=None, plugin=None):
    pm = PluginManager()
    plugin = plugin or CuePlugin()
    pm.register(plugin, name=plugin.name)
    run = RunConfig(system=system, environment=environment, env_steps=10, loggers=("csv",), run_dir=str(tmp_path))
    return SystemBuilder(run, overrides=overrides or {}, plugin_manager=pm)


def _learner(tmp_path, burn_in: int, sequence_length: int = 6):
    builder = _builder(
        tmp_path,
        overrides={
            "dataset.sequence_length": sequence_length,
            "dataset.burn_in": burn_in,
            "dataset.period": 1,
            "network.core_size": 8,
            "network.torso_sizes": "8",
        },
    )
    system = builder.system
    networks = system.make_networks()
    return builder, networks, system.make_learner(networks, None)


def _random_batch(builder, batch_size: int, seed: int = 0):
    """A batch of sequences (``[B, T, ...]``) with random contents and non-zero stored states."""
    import tensorflow as tf

    c = builder.system_config.dataset.options
    rng = np.random.default_rng(seed)
    T, agents = c.sequence_length, builder.env_spec.agent_ids
    per_agent = lambda make: {a: tf.constant(make()) for a in agents}  # noqa: E731
    data = {
        "observations": per_agent(lambda: rng.normal(size=(batch_size, T, 4)).astype(np.float32)),
        "masks": per_agent(lambda: np.ones((batch_size, T, 2), np.float32)),
        "actions": per_agent(lambda: rng.integers(0, 2, (batch_size, T)).astype(np.int32)),
        "rewards": per_agent(lambda: rng.normal(size=(batch_size, T)).astype(np.float32)),
        "discounts": per_agent(lambda: np.ones((batch_size, T), np.float32)),
        "starts": tf.zeros((batch_size, T)),
        "valid": tf.ones((batch_size, T)),
        "core_state": per_agent(lambda: rng.normal(size=(batch_size, 8)).astype(np.float32)),
    }
    return data


def _loss(learner, data):
    return float(learner.losses(types.SimpleNamespace(data=data, info=None))["q_loss"])


def _replace(data, field, agent, step, value):
    """A copy of ``data`` with ``data[field][agent][:, step]`` (or ``data[field][:, step]``) set to ``value``."""
    import tensorflow as tf

    new = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    array = (data[field][agent] if agent else data[field]).numpy().copy()
    array[:, step] = value
    if agent:
        new[field][agent] = tf.constant(array)
    else:
        new[field] = tf.constant(array)
    return new


# ---------------------------------------------------------------------------- burn-in
def test_burn_in_steps_only_advance_the_state(tmp_path):
    """With burn_in=k the loss ignores the first k steps' rewards and actions and no gradient reaches them."""
    import tensorflow as tf

    k = 2
    builder, networks, learner = _learner(tmp_path, burn_in=k)
    data = _random_batch(builder, batch_size=4)
    base = _loss(learner, data)
    for step in range(k):
        for agent in builder.env_spec.agent_ids:
            assert _loss(learner, _replace(data, "rewards", agent, step, 100.0)) == pytest.approx(base, abs=1e-7)
            assert _loss(learner, _replace(data, "actions", agent, step, 1)) == pytest.approx(base, abs=1e-7)
    # the first trained step does count
    assert _loss(learner, _replace(data, "rewards", "agent_0", k, 100.0)) != pytest.approx(base, abs=1e-3)
    # the burn-in observations only set the state the trained steps start from: no gradient flows into them
    observations = {a: tf.Variable(v) for a, v in data["observations"].items()}
    with tf.GradientTape() as tape:
        loss = learner.losses(types.SimpleNamespace(data={**data, "observations": observations}, info=None))["q_loss"]
    gradients = tape.gradient(loss, list(observations.values()))
    for gradient in gradients:
        gradient = gradient.numpy()
        assert np.all(gradient[:, :k] == 0.0)
        assert np.any(gradient[:, k] != 0.0)
    # ... but they do change the loss through that state (burn-in is not a reset)
    changed = _replace(data, "observations", "agent_0", 0, 3.0)
    assert _loss(learner, changed) != pytest.approx(base, abs=1e-6)


def test_without_burn_in_every_step_is_trained(tmp_path):
    builder, _, learner = _learner(tmp_path, burn_in=0)
    data = _random_batch(builder, batch_size=4)
    assert _loss(learner, _replace(data, "rewards", "agent_0", 0, 100.0)) != pytest.approx(_loss(learner, data), abs=1e-3)


def test_padding_and_steps_after_the_episode_are_masked(tmp_path):
    """Steps with valid=0 do not count: changing their rewards or actions leaves the loss unchanged."""
    builder, _, learner = _learner(tmp_path, burn_in=1)
    data = _random_batch(builder, batch_size=4)
    data = _replace(data, "valid", None, 3, 0.0)
    data = _replace(data, "valid", None, 4, 0.0)
    data = _replace(data, "valid", None, 5, 0.0)
    base = _loss(learner, data)
    for step in (3, 4):
        assert _loss(learner, _replace(data, "rewards", "agent_1", step, 50.0)) == pytest.approx(base, abs=1e-7)
        assert _loss(learner, _replace(data, "actions", "agent_1", step, 1)) == pytest.approx(base, abs=1e-7)
    assert _loss(learner, _replace(data, "rewards", "agent_1", 2, 50.0)) != pytest.approx(base, abs=1e-3)
    # nothing valid at all: a zero loss, not a NaN
    empty = _replace(data, "valid", None, slice(None), 0.0)
    assert _loss(learner, empty) == 0.0


def test_unroll_from_the_stored_state_equals_stepping_the_policy(tmp_path):
    """The learner's unroll from a step's stored core_state reproduces the executor's states and actions."""
    import tensorflow as tf

    builder, networks, _ = _learner(tmp_path, burn_in=2)
    policy = builder.system.make_policy(networks, evaluation=True, seed=0)
    env = builder.make_environment(seed=5)
    agents = builder.env_spec.agent_ids
    rng = np.random.default_rng(1)
    policy.reset()
    stored, actions, observations = [], [], []
    timestep = env.reset()
    for _ in range(6):
        # random observations make the recurrent state matter
        obs = {a: AgentObservation(rng.normal(size=4).astype(np.float32), np.ones(2, np.float32)) for a in agents}
        observations.append(obs)
        actions.append(policy.select_actions(obs))
        stored.append(policy.extras()["core_state"])
    assert not np.allclose(stored[2]["agent_0"], 0.0)  # the state moved
    np.testing.assert_allclose(stored[0]["agent_0"], 0.0)  # ... from zeros at the episode start
    (key,) = networks.groups  # shared weights: one network
    net = networks.online[key]
    start = 2
    obs = tf.constant([[o[a].observation for a in agents] for o in observations[start:]])  # [T, N, 4]
    state = tf.constant(np.stack([stored[start][a] for a in agents]))
    q_values, final = net.unroll(obs, tf.zeros(obs.shape[:2]), state)
    greedy = tf.argmax(q_values, axis=-1).numpy()
    assert greedy.tolist() == [[int(step[a]) for a in agents] for step in actions[start:]]
    # states along the way: the unroll up to step t ends in the state stored with step t + 1
    for t in range(start + 1, 6):
        _, state_t = net.unroll(obs[: t - start], tf.zeros((t - start, len(agents))), state)
        np.testing.assert_allclose(state_t.numpy(), np.stack([stored[t][a] for a in agents]), rtol=1e-5, atol=1e-5)
    # starts=1 resets the state: the same as unrolling from zeros from that step on
    starts = np.zeros(obs.shape[:2], np.float32)
    starts[1] = 1.0
    reset_q, _ = net.unroll(obs, tf.constant(starts), state)
    fresh_q, _ = net.unroll(obs[1:], tf.zeros((obs.shape[0] - 1, len(agents))), net.initial_state(len(agents)))
    np.testing.assert_allclose(reset_q[1:].numpy(), fresh_q.numpy(), rtol=1e-5, atol=1e-5)
    env.close()
    # a new episode resets the executor's state
    policy.reset()
    policy.select_actions(observations[0])
    np.testing.assert_allclose(policy.extras()["core_state"]["agent_0"], 0.0)
    del timestep


# -------------------------------------------------------------------------- the adder
def test_sequence_adder_writes_overlapping_padded_sequences_with_their_start_state(tmp_path):
    """One 4-step episode, T=5, burn_in=1, period=2: two sequences, padded, with the state at their start."""
    import reverb
    import tensorflow as tf

    from mava_plugins.datasets.sequence_replay import SequenceAdder, sequence_replay_signature

    builder = _builder(tmp_path)
    spec = builder.env_spec
    agents = spec.agent_ids
    table = reverb.Table(
        name="sequences", sampler=reverb.selectors.Fifo(), remover=reverb.selectors.Fifo(), max_size=100,
        rate_limiter=reverb.rate_limiters.MinSize(1), max_times_sampled=1,
        signature=sequence_replay_signature(spec, 5, (3,)),
    )
    server = reverb.Server([table], port=None)
    try:
        client = reverb.Client(f"localhost:{server.port}")
        adder = SequenceAdder(client, "sequences", spec, sequence_length=5, period=2, burn_in=1, state_shape=(3,))
        mask = np.ones(2, np.float32)

        def observations(value):
            return {a: AgentObservation(np.full(4, value, np.float32), mask) for a in agents}

        adder.add_first(first_timestep(spec, observations(1.0)), {})
        for t in range(4):  # steps 0..3; the episode ends (terminates) after step 3
            last = t == 3
            timestep = next_timestep(observations(t + 2.0), dict.fromkeys(agents, 10.0 + t), dict.fromkeys(agents, 0.0 if last else 1.0), last)
            core = {a: np.full(3, 100.0 + t, np.float32) for a in agents}
            adder.add({a: np.int32(1) for a in agents}, timestep, {"core_state": core})
        adder.flush()
        assert adder.items_written == 2 and adder.steps_written == 4
        dataset = reverb.TrajectoryDataset.from_table_signature(
            server_address=f"localhost:{server.port}", table="sequences", max_in_flight_samples_per_worker=1,
            rate_limiter_timeout_ms=1_000,
        )
        items = [sample.data for sample in dataset.take(2)]
    finally:
        server.stop()
    first, second = items
    obs = lambda item: item["observations"]["agent_0"][:, 0].numpy().tolist()  # noqa: E731
    # stream: pad, steps 0..3 (observations 1..4), final observation 5, pad
    assert obs(first) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert first["valid"].numpy().tolist() == [0, 1, 1, 1, 1]
    assert first["starts"].numpy().tolist() == [0, 1, 0, 0, 0]
    assert first["rewards"]["agent_1"].numpy().tolist() == [0, 10, 11, 12, 13]
    np.testing.assert_array_equal(first["core_state"]["agent_0"].numpy(), np.zeros(3))  # the padding's zero state
    assert obs(second) == [2.0, 3.0, 4.0, 5.0, 0.0]
    assert second["valid"].numpy().tolist() == [1, 1, 1, 0, 0]  # final observation, then padding
    assert second["starts"].numpy().tolist() == [0, 0, 0, 0, 0]
    assert second["discounts"]["agent_0"].numpy().tolist() == [1, 1, 0, 0, 0]
    assert second["actions"]["agent_0"].numpy().tolist() == [1, 1, 1, 0, 0]
    np.testing.assert_array_equal(second["core_state"]["agent_1"].numpy(), np.full(3, 101.0))  # acted from at step 1
    assert isinstance(second["core_state"]["agent_1"], tf.Tensor)


# --------------------------------------------------------------------- configuration
def test_recurrent_variants_are_registered_and_differ_only_by_defaults(tmp_path):
    from mava_plugins.systems.madqn.system import MADQN
    from mava_plugins.systems.value_decomposition.system import QMIX, VDN

    pm = PluginManager()
    names = pm.registry.names("system")
    for name, base in (("recurrent_madqn", MADQN), ("recurrent_vdn", VDN), ("recurrent_qmix", QMIX)):
        assert name in names
        system = pm.registry.get("system", name)
        assert issubclass(system, base)
        config = system.Config()
        assert (config.network.name, config.dataset.name) == ("gru", "sequence_replay")
        assert isinstance(config, base.Config)
    # madqn with network=gru and dataset=sequence_replay is the same system
    builder = _builder(tmp_path, "madqn", overrides={"network": "gru", "dataset": "sequence_replay"})
    assert type(builder.system.make_policy(builder.system.make_networks(), True, 0)).__name__ == "RecurrentEpsilonGreedyPolicy"


def test_mismatched_network_and_dataset_are_refused_clearly(tmp_path):
    with pytest.raises(ConfigError) as raised:
        _builder(tmp_path, "madqn", overrides={"network": "gru"})
    assert raised.value.key == "dataset" and "dataset=sequence_replay" in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        _builder(tmp_path, "qmix", environment="debug:two_step", overrides={"dataset": "sequence_replay"})
    assert raised.value.key == "network" and "network=gru" in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        _builder(tmp_path, overrides={"dataset.sequence_length": 10, "dataset.burn_in": 4, "dataset.period": 6})
    assert raised.value.key == "dataset.period" and "5" in str(raised.value)
    with pytest.raises(ConfigError, match="dataset.burn_in"):
        _builder(tmp_path, overrides={"dataset.sequence_length": 4, "dataset.burn_in": 3, "dataset.period": 1})


# ----------------------------------------------------------------------- two-step game
TWO_STEP = {
    "dataset.sequence_length": 4,
    "dataset.burn_in": 1,
    "dataset.period": 2,
    "dataset.min_size": 50,
    "dataset.batch_size": 32,
    "dataset.samples_per_insert": 16.0,
    "network.torso_sizes": "32",
    "network.core_size": 32,
    "exploration": "constant_epsilon",
    "exploration.value": 1.0,
    "target_update_period": 50,
    "discount": 1.0,
    "learning_rate": 0.002,
    "huber_delta": 0.0,
}


#: seeds whose untrained greedy policy does not already score 8 (checked in the test): with agent
#: ids, seeds 0-7 score 8, 7, 1, 7, 8, 7, 7, 8 before training (seed 0 would pass untrained)
TWO_STEP_SEEDS = (1, 2)


@pytest.mark.parametrize("seed", TWO_STEP_SEEDS)
def test_recurrent_qmix_reaches_the_optimum_of_the_two_step_game(tmp_path, seed):
    """Like feedforward QMIX, recurrent QMIX (mixing at every step with that step's state) reaches 8."""
    summary = two_step_run(tmp_path, "recurrent_qmix", TWO_STEP, seed)
    assert_training_changed_the_outcome(summary, 8.0, seed)
    assert summary["trainer_steps"] > 400
    trainer_rows = read_csv(tmp_path / "logs" / "trainer.csv")
    assert "mean_q_total" in trainer_rows[-1]


# ------------------------------------------------------------------------- launchpad
@pytest.mark.slow
def test_recurrent_madqn_trains_on_launchpad_with_two_executors(tmp_path):
    overrides = {
        "dataset.min_size": 20,
        "dataset.batch_size": 8,
        "dataset.sequence_length": 10,
        "dataset.burn_in": 2,
        "dataset.period": 5,
        "network.core_size": 16,
        "network.torso_sizes": "16",
    }
    _, trainer_rows = launchpad_run(tmp_path, "recurrent_madqn", "debug:simple_spread", 1_000, overrides,
                                    plugins=[ParameterTrace(tmp_path / "trace")])
    assert np.isfinite(float(trainer_rows[-1]["loss/q_loss"]))
    # the trainer's updates reached both executors and the evaluator (exactly unchanged without learning)
    assert_parameters_reached_acting_nodes(tmp_path / "trace", executors=2)
