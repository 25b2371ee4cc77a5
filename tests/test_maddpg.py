"""MADDPG and MAD4PG learn, build with every architecture, and keep their losses apart.

Learning runs are seeded local-backend runs on the numpy ``debug:simple_spread`` task (two
agents, 25 steps) that must beat the random-policy return of the run summary by a clear margin.
"""
from __future__ import annotations

import collections
import os

import numpy as np
import pytest
from helpers import (
    ParameterTrace,
    assert_parameters_reached_acting_nodes,
    launchpad_run,
    local_run,
    read_csv,
    trainer_hooks,
)

from mava_core.config import RunConfig
from mava_core.errors import ConfigError
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder

CONTINUOUS = {"continuous": True, "num_agents": 2}
DISCRETE = {"num_agents": 2}
FAST = {
    "dataset.min_size": 100,
    "dataset.batch_size": 32,
    "dataset.samples_per_insert": 32.0,
    "discount": 0.95,
    "policy_learning_rate": 0.003,
    "critic_learning_rate": 0.003,
}
#: an optimal policy scores about -6 on this task and random play about -37; learned policies
#: must close at least a quarter of that gap within 2,000 steps (observed: 12 to 17; runs are
#: seeded, but Reverb's sampling order is not, so results vary a little between runs)
MARGIN = 8.0


def _learn(tmp_path, system, overrides, env_options, env_steps: int = 2_000, eval_episodes: int = 20):
    return local_run(
        tmp_path, system, "debug:simple_spread", env_steps=env_steps, overrides=overrides, env_options=env_options,
        eval_episodes=eval_episodes,
    )


def _assert_beats_random(summary):
    assert summary["random_return"] == pytest.approx(-37.0, abs=4.0)
    assert summary["trainer_steps"] > 1_500
    assert summary["final_mean_return"] > summary["random_return"] + MARGIN, summary["evaluations"]


# ------------------------------------------------------------------------ learning
def test_maddpg_learns_continuous_spread(tmp_path):
    summary, _ = _learn(tmp_path, "maddpg", FAST, CONTINUOUS)
    _assert_beats_random(summary)


def test_mad4pg_learns_continuous_spread(tmp_path):
    overrides = {**FAST, "dataset.n_step": 3, "v_min": -60.0, "v_max": 0.0}
    # MAD4PG's runs vary more than MADDPG's (Reverb's sampling is not seeded): at 2,000 steps
    # and 20 evaluation episodes seed 0 closed 8.0 to 17.3 of the gap (a CI run missed the
    # margin by 0.05); at 4,000 steps and 50 episodes, 14.9 to 20.1 in nine runs (seed 2:
    # 12.3 to 15.1 in three)
    summary, builder = _learn(tmp_path, "mad4pg", overrides, CONTINUOUS, env_steps=4_000, eval_episodes=50)
    assert builder.system_config.dataset.options.n_step == 3
    _assert_beats_random(summary)


def test_maddpg_learns_discrete_spread_with_gumbel_softmax(tmp_path):
    overrides = {
        **FAST,
        "exploration": "linear_epsilon",
        "exploration.start": 0.5,
        "exploration.end": 0.05,
        "exploration.decay_steps": 1_500,
        "gumbel_temperature": 0.5,
    }
    # 3,000 steps: at 2,000 this run closed 8 to 13 of the gap (one CI run missed the margin by 0.1);
    # at 3,000, 12 to 15 in six runs
    summary, builder = _learn(tmp_path, "maddpg", overrides, DISCRETE, env_steps=3_000)
    assert builder.env_spec.discrete
    _assert_beats_random(summary)


# ------------------------------------------------------------------ architectures
@pytest.mark.parametrize(
    "architecture, extra",
    [
        ("decentralised", {"target_update_period": 10}),  # periodic hard target copies
        ("centralised", {"architecture.shared_weights": False}),
        ("state_based", {"exploration": "ornstein_uhlenbeck"}),
        ("networked", {"architecture.graph": "line"}),  # agents see 1 or 2 others: per-agent critics
    ],
)
def test_every_architecture_builds_and_trains(tmp_path, architecture, extra):
    overrides = {
        "architecture": architecture,
        **extra,
        "dataset.min_size": 50,
        "dataset.batch_size": 16,
        "dataset.samples_per_insert": 16.0,
        "policy_network.hidden_sizes": "32",
        "critic_network.hidden_sizes": "32",
    }
    summary, builder = local_run(
        tmp_path, "mad4pg" if architecture == "networked" else "maddpg", "debug:simple_spread", env_steps=100,
        overrides=overrides, env_options={"continuous": True, "num_agents": 3}, eval_episodes=1, random_baseline_episodes=1,
    )
    assert summary["trainer_steps"] >= 40
    rows = read_csv(os.path.join(tmp_path, "logs", "trainer.csv"))
    assert rows and all(np.isfinite(float(rows[-1][key])) for key in ("loss/policy_loss", "loss/critic_loss"))
    critic_groups = builder.system.critic_groups()
    if architecture == "networked":
        assert critic_groups == {"agent_0": ["agent_0"], "agent_1": ["agent_1"], "agent_2": ["agent_2"]}
    elif architecture == "centralised":
        assert list(critic_groups) == ["agent_0", "agent_1", "agent_2"]
    else:
        assert critic_groups == {"agent": ["agent_0", "agent_1", "agent_2"]}


# ---------------------------------------------------------- categorical projection
def test_categorical_projection_conserves_mass_and_clips():
    import tensorflow as tf

    from mava_plugins.systems.maddpg.heads import categorical_projection

    atoms = np.linspace(-10.0, 10.0, 11, dtype=np.float32)
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(11), size=6).astype(np.float32)
    rewards = np.array([0.0, 1.3, -2.7, 100.0, -100.0, 0.5], np.float32)
    discounts = np.array([1.0, 0.9, 0.5, 0.99, 0.99, 0.0], np.float32)
    projected = categorical_projection(tf.constant(rewards), tf.constant(discounts), tf.constant(probabilities), atoms).numpy()

    np.testing.assert_allclose(projected.sum(axis=1), 1.0, atol=1e-5)  # mass conserved
    assert (projected >= 0).all()
    np.testing.assert_allclose(projected[0], probabilities[0], atol=1e-6)  # r=0, d=1: unchanged
    np.testing.assert_allclose(projected[3], np.eye(11)[-1], atol=1e-6)  # beyond v_max: all on the top atom
    np.testing.assert_allclose(projected[4], np.eye(11)[0], atol=1e-6)  # below v_min: all on the bottom atom
    expected_last = np.zeros(11)
    expected_last[5], expected_last[6] = 0.75, 0.25  # d=0: all mass at r=0.5, split between atoms 0 and 2
    np.testing.assert_allclose(projected[5], expected_last, atol=1e-6)
    # the mean moves as the Bellman operator says when nothing is clipped
    mean = (projected[2] * atoms).sum()
    np.testing.assert_allclose(mean, rewards[2] + discounts[2] * (probabilities[2] * atoms).sum(), atol=1e-4)


# ------------------------------------------------------------- optimisation groups
Sample = collections.namedtuple("Sample", ["info", "data"])


def _builder(tmp_path, system="maddpg", overrides=None, env_options=None):
    run = RunConfig(
        system=system, environment="debug:simple_spread", backend="local", run_dir=str(tmp_path), loggers=("csv",),
        env_options=dict(env_options or CONTINUOUS),
    )
    return SystemBuilder(run, overrides=overrides or {}, plugin_manager=PluginManager())


def _random_batch(spec, batch_size=8, seed=0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    data = collections.defaultdict(dict)
    for agent, agent_spec in spec.agents.items():
        obs_shape = (batch_size,) + tuple(agent_spec.observation.shape)
        for key in ("observations", "next_observations"):
            data[key][agent] = tf.constant(rng.normal(size=obs_shape), tf.float32)
        for key in ("masks", "next_masks"):
            data[key][agent] = tf.ones((batch_size, agent_spec.num_actions), tf.float32)
        if agent_spec.discrete:
            data["actions"][agent] = tf.constant(rng.integers(0, agent_spec.num_actions, batch_size), tf.int32)
        else:
            data["actions"][agent] = tf.constant(rng.uniform(-1, 1, (batch_size, agent_spec.num_actions)), tf.float32)
        data["rewards"][agent] = tf.constant(rng.normal(size=batch_size), tf.float32)
        data["discounts"][agent] = tf.fill((batch_size,), 0.95)
    for key in ("state", "next_state"):
        data[key] = tf.constant(rng.normal(size=(batch_size,) + tuple(spec.state.shape)), tf.float32)
    return Sample(info=tf.zeros(()), data=dict(data))


def _snapshot(variables):
    return [v.numpy().copy() for v in variables]


def _changed(before, variables):
    return any(not np.array_equal(b, v.numpy()) for b, v in zip(before, variables))


@pytest.mark.parametrize("system, env_options", [("maddpg", CONTINUOUS), ("mad4pg", CONTINUOUS), ("maddpg", DISCRETE)])
def test_policy_loss_does_not_move_critic_variables(tmp_path, system, env_options):
    import tensorflow as tf

    from mava_core.trainer import Trainer

    builder = _builder(tmp_path, system, {"critic_learning_rate": 0.0, "policy_learning_rate": 0.01}, env_options)
    networks = builder.system.make_networks()
    learner = builder.system.make_learner(networks, None)
    groups = {group.name: group for group in learner.optimisation_groups()}
    assert set(groups) == {"policy", "critic"}
    policy_ids = {id(v) for v in groups["policy"].variables}
    critic_ids = {id(v) for v in groups["critic"].variables}
    assert policy_ids and critic_ids and not policy_ids & critic_ids
    assert groups["policy"].optimizer is not groups["critic"].optimizer

    batch = _random_batch(builder.env_spec)
    # the policy loss does depend on the critics, so keeping it out of their group matters
    with tf.GradientTape() as tape:
        policy_loss = learner.losses(batch)["policy_loss"]
    critic_gradients = tape.gradient(policy_loss, groups["critic"].variables)
    assert any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in critic_gradients)

    trainer = Trainer(learner, iter([batch] * 3), trainer_hooks(builder))
    critic_before, policy_before = _snapshot(groups["critic"].variables), _snapshot(groups["policy"].variables)
    for _ in range(3):
        metrics = trainer.step()
    assert not _changed(critic_before, groups["critic"].variables)  # critic lr is 0: only the policy loss could move them
    assert _changed(policy_before, groups["policy"].variables)
    assert {"gradient_norm/policy", "gradient_norm/critic", "loss/policy_loss", "loss/critic_loss"} <= set(metrics)

    # and the other way round: the critic loss moves critics only
    builder = _builder(tmp_path, system, {"critic_learning_rate": 0.01, "policy_learning_rate": 0.0}, env_options)
    learner = builder.system.make_learner(builder.system.make_networks(), None)
    groups = {group.name: group for group in learner.optimisation_groups()}
    trainer = Trainer(learner, iter([batch] * 3), trainer_hooks(builder))
    critic_before, policy_before = _snapshot(groups["critic"].variables), _snapshot(groups["policy"].variables)
    for _ in range(3):
        trainer.step()
    assert _changed(critic_before, groups["critic"].variables)
    assert not _changed(policy_before, groups["policy"].variables)


# ------------------------------------------------------------------ policy & config
def test_policy_respects_bounds_masks_and_noise(tmp_path):
    from mava_core.specs import AgentObservation

    builder = _builder(tmp_path, "maddpg", {"exploration.sigma_start": 5.0, "exploration.sigma_end": 5.0})
    system = builder.system
    policy = system.make_policy(system.make_networks(), evaluation=False, seed=1)
    obs = {a: AgentObservation(np.zeros(8, np.float32), np.ones(2, np.float32)) for a in builder.env_spec.agents}
    actions = [policy.select_actions(obs) for _ in range(20)]
    values = np.stack([a["agent_0"] for a in actions])
    assert values.dtype == np.float32 and values.shape == (20, 2)
    assert values.min() >= -1.0 and values.max() <= 1.0 and np.isin(values, (-1.0, 1.0)).any()  # clipped
    greedy = system.make_policy(system.make_networks(), evaluation=True, seed=1)
    np.testing.assert_array_equal(greedy.select_actions(obs)["agent_0"], greedy.select_actions(obs)["agent_0"])

    builder = _builder(tmp_path, "maddpg", {"exploration": "linear_epsilon", "exploration.start": 1.0}, DISCRETE)
    policy = builder.system.make_policy(builder.system.make_networks(), evaluation=False, seed=1)
    mask = np.array([0, 0, 1, 0, 1], np.float32)
    obs = {a: AgentObservation(np.zeros(8, np.float32), mask) for a in builder.env_spec.agents}
    chosen = {int(policy.select_actions(obs)[agent]) for _ in range(30) for agent in obs}
    assert chosen == {2, 4}


def test_noise_components():
    from mava_plugins.exploration.schedules import GaussianNoise, OrnsteinUhlenbeckNoise, is_noise

    gaussian = GaussianNoise(GaussianNoise.Config(sigma_start=0.4, sigma_end=0.1, decay_steps=100))
    assert gaussian.value(0) == pytest.approx(0.4) and gaussian.value(50) == pytest.approx(0.25)
    assert gaussian.value(10_000) == pytest.approx(0.1)
    white = gaussian.process((1,), np.random.default_rng(0))
    path = np.array([white.sample(0.2)[0] for _ in range(2_000)])
    assert path.std() == pytest.approx(0.2, rel=0.1) and abs(np.corrcoef(path[:-1], path[1:])[0, 1]) < 0.1

    ou = OrnsteinUhlenbeckNoise(OrnsteinUhlenbeckNoise.Config(theta=0.15, sigma_start=0.2, sigma_end=0.2))
    process = ou.process((1,), np.random.default_rng(0))
    path = np.array([process.sample(0.2)[0] for _ in range(2_000)])
    assert np.corrcoef(path[:-1], path[1:])[0, 1] > 0.7  # temporally correlated
    process.reset()
    np.testing.assert_array_equal(process.sample(0.0), [0.0])  # back at zero after a reset
    assert is_noise(ou) and is_noise(gaussian)

    from mava_plugins.exploration.schedules import LinearEpsilon

    assert not is_noise(LinearEpsilon(LinearEpsilon.Config()))


def test_straight_through_gumbel_softmax_is_one_hot_with_the_soft_gradient():
    import tensorflow as tf

    from mava_plugins.systems.maddpg.policy import ActionSpace, relaxed_action_vectors

    space = ActionSpace(discrete=True, size=4, low=None, high=None)
    logits = tf.Variable([[2.0, 0.5, -1.0, 0.0]] * 64)
    masks = tf.constant([[1.0, 1.0, 1.0, 0.0]] * 64)
    weights = tf.constant([1.0, -2.0, 3.0, 4.0])
    tf.random.set_seed(0)
    with tf.GradientTape(persistent=True) as tape:
        hard = relaxed_action_vectors(space, logits, masks, 0.5, straight_through=True)
        soft = relaxed_action_vectors(space, logits, masks, 0.5)
        hard_value, soft_value = tf.reduce_sum(hard * weights), tf.reduce_sum(soft * weights)
    values = hard.numpy()
    assert set(np.unique(values)) == {0.0, 1.0} and np.all(values.sum(axis=1) == 1.0) and not values[:, 3].any()
    assert len(set(np.argmax(values, axis=1))) > 1  # sampled, not the argmax of the logits
    gradient = tape.gradient(hard_value, logits).numpy()
    assert np.abs(gradient).sum() > 0 and np.all(gradient[:, 3] == 0.0)  # flows to legal logits only
    assert tape.gradient(soft_value, logits) is not None


def test_gumbel_noise_samples_the_actors_softmax(tmp_path):
    """Gumbel noise scaled by a temperature, added to logits before the argmax, draws actions
    with softmax(logits / temperature) probabilities; continuous agents are refused."""
    from mava_plugins.exploration.schedules import GumbelNoise

    gumbel = GumbelNoise(GumbelNoise.Config())
    process = gumbel.process((3,), np.random.default_rng(0))
    logits = np.array([1.0, 0.0, -1.0])
    for temperature in (1.0, 0.5):
        draws = np.array([np.argmax(logits + process.sample(temperature)) for _ in range(20_000)])
        expected = np.exp(logits / temperature) / np.exp(logits / temperature).sum()
        np.testing.assert_allclose(np.bincount(draws, minlength=3) / draws.size, expected, atol=0.015)
    assert gumbel.value(0) == gumbel.value(10**6) == 1.0

    with pytest.raises(ConfigError, match="samples discrete actions only, but agent_0, agent_1 act continuously") as caught:
        _builder(tmp_path, "maddpg", {"exploration": "gumbel_noise"}).system
    assert caught.value.key == "exploration"


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"target_tau": 0.0}, "target_tau"),
        ({"exploration.sigma_end": 0.9}, "exploration.sigma_end"),
        ({"exploration": "ornstein_uhlenbeck", "exploration.theta": 2.0}, "exploration.theta"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path, overrides, key):
    with pytest.raises(ConfigError) as caught:
        _builder(tmp_path, "maddpg", overrides)
    assert caught.value.key == key


def test_mad4pg_atoms_must_be_ordered(tmp_path):
    with pytest.raises(ConfigError) as caught:
        _builder(tmp_path, "mad4pg", {"v_min": 1.0, "v_max": -1.0})
    assert caught.value.key == "v_min"


def test_unsupported_action_types_are_config_errors():
    from dm_env import specs

    from mava_core.specs import SEQUENTIAL, AgentSpec, MultiAgentSpec
    from mava_plugins.systems.maddpg.system import MADDPG

    obs = specs.Array((3,), np.float32)
    unbounded = MultiAgentSpec({"agent_0": AgentSpec(obs, specs.Array((2,), np.float32))})
    with pytest.raises(ConfigError, match="bounded continuous actions"):
        MADDPG.check_environment(unbounded, "test:unbounded")
    infinite = MultiAgentSpec({"agent_0": AgentSpec(obs, specs.BoundedArray((2,), np.float32, -np.inf, np.inf))})
    with pytest.raises(ConfigError, match="infinite bounds"):
        MADDPG.check_environment(infinite, "test:infinite")
    turns = MultiAgentSpec({"agent_0": AgentSpec(obs, specs.DiscreteArray(2))}, kind=SEQUENTIAL)
    with pytest.raises(ConfigError, match="take turns"):
        MADDPG.check_environment(turns, "test:turns")


def test_state_based_critics_need_a_state(tmp_path):
    builder = _builder(tmp_path, "maddpg", {"architecture": "state_based"}, {"continuous": True, "num_agents": 2})
    spec = builder.env_spec
    stateless = type(spec)(spec.agents, state=None)
    with pytest.raises(ConfigError, match="global state"):
        type(builder.system)(builder.system_config, stateless, builder.system.components)


# ------------------------------------------------------------------------ launchpad
@pytest.mark.slow
def test_launchpad_two_executors_train_mad4pg(tmp_path):
    overrides = {"dataset.min_size": 200, "dataset.batch_size": 32, "v_min": -60.0, "v_max": 0.0, "num_atoms": 21}
    _, rows = launchpad_run(tmp_path, "mad4pg", "debug:simple_spread", 1_000, overrides, env_options=CONTINUOUS, eval_episodes=2,
                            plugins=[ParameterTrace(tmp_path / "trace")])
    assert np.isfinite(float(rows[-1]["loss/critic_loss"])) and np.isfinite(float(rows[-1]["loss/policy_loss"]))
    # the policy updates reached both executors and the evaluator (exactly unchanged without learning)
    assert_parameters_reached_acting_nodes(tmp_path / "trace", executors=2)


def test_continuous_debug_spread_moves_by_velocity():
    from mava_plugins.envs.debugging import DebugFamily

    env = DebugFamily.make("simple_spread", seed=0, num_agents=2, continuous=True)
    spec = env.multi_agent_spec()
    assert spec.continuous and spec.agents["agent_0"].action.shape == (2,)
    timestep = env.reset()
    start = timestep.observation["agent_0"].observation[:2].copy()
    timestep = env.step({"agent_0": np.array([1.0, -0.5], np.float32), "agent_1": np.array([5.0, 5.0], np.float32)})
    expected = np.clip(start + 0.1 * np.array([1.0, -0.5]), -1.0, 1.0)
    np.testing.assert_allclose(timestep.observation["agent_0"].observation[:2], expected, atol=1e-6)
    assert timestep.reward["agent_0"] == timestep.reward["agent_1"] < 0
    with pytest.raises(ConfigError):
        DebugFamily.make("simple_spread", continuous="yes")
