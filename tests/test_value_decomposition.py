"""VDN and QMIX: the mixers, the two-step game result of the QMIX paper, learning on simple
spread, reproducibility under a seed, a Launchpad run, and the refusal of QMIX without a state.

On ``debug:two_step`` (with a one-hot agent id in each observation) agents explore uniformly
(epsilon 1, as in Rashid et al. 2018) and learn off-policy with a squared TD loss; the greedy
evaluation then reaches the optimal joint return 8 with QMIX, while VDN's additive fit of the 2B
payoff ([[0, 1], [1, 8]] -> at most 6.5) makes it settle on the safe branch (7). A random policy
averages 4.75. The untrained greedy policy often scores 7 or 8 by itself, so each seed here was
chosen for an untrained score other than its system's result, and every test checks that.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import (
    ParameterTrace,
    assert_parameters_reached_acting_nodes,
    assert_training_changed_the_outcome,
    launchpad_run,
    local_run,
    read_csv,
    two_step_run,
)

from mava_core import hookimpl
from mava_core.config import RunConfig
from mava_core.errors import ConfigError
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder
from mava_plugins.envs.debugging import TwoStepEnvironment

TWO_STEP = {
    "dataset.min_size": 100,
    # batches of 128 at learning rate 0.001: with 32 at 0.002 VDN's greedy choice between the
    # branches (7 against its fit's 6.5 plus noise) still flipped late in training in some runs
    "dataset.batch_size": 128,
    "dataset.samples_per_insert": 128.0,
    "exploration": "constant_epsilon",
    "exploration.value": 1.0,  # uniform exploration, as in the paper's two-step experiment
    "target_update_period": 50,
    "discount": 1.0,
    "learning_rate": 0.001,
    "huber_delta": 0.0,
}
TWO_STEP_STEPS = 2_000
#: (system, seed, joint return the greedy policy must end at); the untrained greedy policy of
#: each seed scores something else (QMIX seeds 0 and 7: 7 and 0; VDN seeds 1 and 8: 8 and 1)
TWO_STEP_CASES = [("qmix", 0, 8.0), ("qmix", 7, 8.0), ("vdn", 1, 7.0), ("vdn", 8, 7.0)]
#: one seed per system for the reproducibility check (it runs the seed twice)
REPRODUCED = [case for case in TWO_STEP_CASES if case[1] in (0, 1)]

SIMPLE_SPREAD = {
    "dataset.min_size": 200,
    "dataset.batch_size": 32,
    "dataset.samples_per_insert": 16.0,
    "exploration.decay_steps": 1_500,
    "target_update_period": 100,
    "learning_rate": 0.002,
    "discount": 0.95,
}


@pytest.fixture(scope="module")
def two_step_runs(tmp_path_factory):
    """Cached seeded two-step runs: ``runs(system, seed, copy)`` -> (summary, evaluator rows)."""
    cache = {}

    def runs(system: str, seed: int, copy: str = "a"):
        key = (system, seed, copy)
        if key not in cache:
            run_dir = tmp_path_factory.mktemp(f"{system}_seed{seed}_{copy}")
            summary = two_step_run(run_dir, system, TWO_STEP, seed, env_steps=TWO_STEP_STEPS, random_baseline_episodes=400)
            cache[key] = (summary, read_csv(run_dir / "logs" / "evaluator.csv"))
        return cache[key]

    return runs


# ------------------------------------------------------------------------------ mixers
def _mixer(name: str, **options):
    pm = PluginManager()
    factory = pm.registry.get("mixer", name)
    config = getattr(factory, "Config", None)
    return factory(dataclasses.replace(config(), **options)) if config else factory()


def test_additive_mixer_sums_the_agents_q_values():
    import tensorflow as tf

    mixer = _mixer("additive").make(3, None)
    qs = tf.constant([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    np.testing.assert_allclose(mixer(qs, None).numpy(), [6.0, -0.5])
    assert list(mixer.variables) == []


def test_monotonic_mixer_is_monotonic_in_every_agent_and_depends_on_the_state():
    import tensorflow as tf

    tf.random.set_seed(0)
    mixer = _mixer("monotonic", embed_size=8, hypernet_hidden_size=16).make(3, 5)
    qs = tf.random.normal((64, 3)) * 5.0
    state = tf.random.normal((64, 5))
    with tf.GradientTape() as tape:
        tape.watch(qs)
        q_total = mixer(qs, state)
    assert q_total.shape == (64,)
    gradients = tape.gradient(q_total, qs).numpy()
    assert (gradients >= 0).all() and (gradients > 0).any()
    other_state = mixer(qs, state + 1.0)
    assert not np.allclose(q_total.numpy(), other_state.numpy())
    # hypernetworks for both mixing layers' weights and biases, state-value head included
    names = {v.name.split("/")[1] for v in mixer.trainable_variables}
    assert names == {f"{head}_{layer}" for head in ("hyper_w1", "hyper_w2", "hyper_v") for layer in ("hidden", "output")} | {
        "hyper_b1"
    }



def _initial_gain(init_scale, seed):
    """Mean total gain ``sum_i dQ_tot / dQ_i`` of a freshly made 3-agent mixer on a Spread-sized state."""
    import tensorflow as tf

    tf.random.set_seed(seed)
    mixer = _mixer("monotonic", init_scale=init_scale).make(3, 54)
    qs, state = tf.random.normal((256, 3)), tf.random.normal((256, 54))
    with tf.GradientTape() as tape:
        tape.watch(qs)
        q_total = mixer(qs, state)
    return float(tf.reduce_mean(tf.reduce_sum(tape.gradient(q_total, qs), axis=1)))


def test_the_default_mixer_starts_with_a_small_gain():
    # the gain of the mixer multiplies every agent's overestimation in the bootstrapped target;
    # with Sonnet's default initialiser (init_scale=0) it starts near 9 (VDN's is 3, one per agent)
    # and QMIX's Q_tot diverged on Spread (docs/systems/qmix.md); the default starts far lower
    default = [_initial_gain(0.1, seed) for seed in range(3)]
    sonnet = [_initial_gain(0.0, seed) for seed in range(3)]
    assert max(default) < 1.0 < 3.0 < min(sonnet)


# ------------------------------------------------------------------- two-step game
@pytest.mark.parametrize("system, seed, expected", TWO_STEP_CASES, ids=[f"{case[0]}-seed{case[1]}" for case in TWO_STEP_CASES])
def test_two_step_game_reaches_the_papers_result(two_step_runs, system, seed, expected):
    """QMIX finds the optimal joint return 8; VDN converges to the safe 7 (random: 4.75; untrained: neither)."""
    summary, evaluations = two_step_runs(system, seed)
    assert summary["random_return"] == pytest.approx(4.75, abs=0.6)
    # the untrained policy scored something else, and the evaluations at 1,500 steps and at the
    # end agree (early on VDN may take the risky branch before its estimates settle on 7)
    assert_training_changed_the_outcome(summary, expected, seed)
    assert [float(row["mean_return"]) for row in evaluations[-2:]] == [expected, expected]
    assert summary["trainer_steps"] > 1_500


@pytest.mark.parametrize("system, seed, expected", REPRODUCED, ids=[case[0] for case in REPRODUCED])
def test_two_step_outcome_is_reproducible_under_a_seed(two_step_runs, system, seed, expected):
    """Two runs with one seed share everything a seed fixes and converge to the same joint return.

    The seed fixes the environment, exploration, network initialisation and the schedule of
    executor, trainer and evaluator calls. Reverb's samplers take no seed, so which transitions
    a batch holds, and with it an evaluation in mid-training, can differ between runs; the
    converged result may not.
    """
    first, _ = two_step_runs(system, seed, "a")
    again, _ = two_step_runs(system, seed, "b")
    assert first["random_return"] == again["random_return"]
    assert first["trainer_steps"] == again["trainer_steps"]
    assert [e["env_steps"] for e in first["evaluations"]] == [e["env_steps"] for e in again["evaluations"]]
    assert first["evaluations"][0]["mean_return"] == again["evaluations"][0]["mean_return"]  # untrained: identical
    assert first["final_mean_return"] == again["final_mean_return"] == expected


# ------------------------------------------------------------------- simple spread
@pytest.mark.parametrize("system", ["vdn", "qmix"])
def test_learns_simple_spread_better_than_random(tmp_path, system):
    summary, _ = local_run(
        tmp_path, system, "debug:simple_spread", env_steps=4_000, overrides=SIMPLE_SPREAD, eval_every=1_000,
        eval_episodes=10, random_baseline_episodes=200,
    )
    random_return = summary["random_return"]
    assert -50.0 < random_return < -40.0  # per-agent return of 25 random steps
    # a clear margin: at least 15% less distance to the landmarks than random play
    assert summary["final_mean_return"] >= random_return + 0.15 * abs(random_return), summary["evaluations"]
    assert summary["final_mean_return"] > summary["evaluations"][0]["mean_return"]


# ------------------------------------------------------------------- environment checks
class _StatelessTwoStep(TwoStepEnvironment):
    """The two-step game without a global state."""

    def multi_agent_spec(self):
        return dataclasses.replace(super().multi_agent_spec(), state=None)


class _StatelessFamily:
    name = "stateless"
    default_task = "two_step"

    @classmethod
    def tasks(cls):
        return ["two_step"]

    @classmethod
    def make(cls, task="two_step", seed=0, **options):
        return _StatelessTwoStep(seed=seed)


class _StatelessPlugin:
    name = "stateless_envs"

    @staticmethod
    @hookimpl
    def mava_register(registry):
        registry.add("environment", "stateless", _StatelessFamily, description="two-step game without a state")


def _builder(tmp_path, system, overrides=None):
    pm = PluginManager()
    pm.register(_StatelessPlugin, name="stateless_envs")
    run = RunConfig(system=system, environment="stateless:two_step", env_steps=10, loggers=("csv",), run_dir=str(tmp_path))
    return SystemBuilder(run, overrides=overrides or {}, plugin_manager=pm)


def test_qmix_without_a_global_state_is_refused_clearly(tmp_path):
    with pytest.raises(ConfigError) as raised:
        _builder(tmp_path, "qmix").build_program()
    message = str(raised.value)
    assert "qmix" in message and "stateless:two_step" in message and "global state" in message
    assert "vdn" in message  # points at the alternative that needs no state
    # VDN needs no state; its monotonic-mixer variant does, and says which key is at fault
    assert _builder(tmp_path, "vdn").env_spec.state is None
    with pytest.raises(ConfigError, match="mixer"):
        _ = _builder(tmp_path, "vdn", {"mixer": "monotonic"}).system


def test_continuous_actions_are_refused():
    from mava_plugins.systems.value_decomposition.system import QMIX, VDN

    pm = PluginManager()
    env = pm.registry.get("environment", "debug").make("two_step")
    spec = env.multi_agent_spec()
    from dm_env import specs as dm_specs

    continuous = dataclasses.replace(
        spec,
        agents={a: dataclasses.replace(s, action=dm_specs.BoundedArray((2,), np.float32, -1.0, 1.0)) for a, s in spec.agents.items()},
    )
    for system in (VDN, QMIX):
        with pytest.raises(ConfigError, match=f"{system.name} needs discrete actions"):
            system.check_environment(continuous, "debug:continuous")


# ------------------------------------------------------------------------ launchpad
@pytest.mark.slow
def test_qmix_trains_on_launchpad_with_two_executors(tmp_path):
    overrides = {"dataset.min_size": 200, "dataset.batch_size": 16, "network.hidden_sizes": "32", "mixer.embed_size": 8}
    _, trainer_rows = launchpad_run(tmp_path, "qmix", "debug:simple_spread", 1_000, overrides, plugins=[ParameterTrace(tmp_path / "trace")])
    assert np.isfinite(float(trainer_rows[-1]["loss/q_loss"]))
    # the trainer's updates reached both executors and the evaluator (exactly unchanged without learning)
    assert_parameters_reached_acting_nodes(tmp_path / "trace", executors=2)
    assert "mean_q_total" in trainer_rows[-1]
