"""MAPPO: GAE by hand, learning on the two-step game, action masks, continuous actions, Launchpad."""
from __future__ import annotations

import os
from typing import Any, Dict, List

import dm_env
import numpy as np
import pytest
from dm_env import specs
from helpers import ParameterTrace, assert_parameters_reached_acting_nodes, launchpad_run, local_run, read_csv

from mava_core.config import RunConfig
from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError
from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_core.system import SystemBuilder
from mava_core.workers import ExecutorWorker


# --------------------------------------------------------------------------------- GAE
def test_generalised_advantages_match_a_hand_computed_example():
    from mava_plugins.systems.mappo.learner import generalised_advantages

    # row 0: gamma 0.9, lambda 0.8; step 2 terminates (discount 0): its bootstrap (9.0) is ignored
    #   deltas: 1 + 0.9 * 1.0 - 0.5 = 1.4 | 0 + 0.9 * 1.5 - 1.0 = 0.35 | 2 + 0 - 1.5 = 0.5
    #   A2 = 0.5, A1 = 0.35 + 0.72 * 0.5 = 0.71, A0 = 1.4 + 0.72 * 0.71 = 1.9112
    # row 1: step 1 ends its episode by truncation (discount 1): it bootstraps from its own next
    # value (3.0) and the recursion does not reach back across the boundary from step 2
    #   deltas: 1 + 0.9 * 2 = 2.8 | 1 + 0.9 * 3 = 3.7 | 1 + 0.9 * 4 = 4.6
    #   A2 = 4.6, A1 = 3.7 (cut), A0 = 2.8 + 0.72 * 3.7 = 5.464
    rewards = [[1.0, 0.0, 2.0], [1.0, 1.0, 1.0]]
    discounts = [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    values = [[0.5, 1.0, 1.5], [0.0, 0.0, 0.0]]
    next_values = [[1.0, 1.5, 9.0], [2.0, 3.0, 4.0]]
    ends = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    advantages, returns = generalised_advantages(rewards, discounts, values, next_values, ends, gamma=0.9, lam=0.8)
    expected = np.array([[1.9112, 0.71, 0.5], [5.464, 3.7, 4.6]])
    np.testing.assert_allclose(advantages.numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(returns.numpy(), expected + np.array(values), rtol=1e-5)
    # lambda 0: one-step TD errors; the time axis is the last one for any leading shape
    td, _ = generalised_advantages([[rewards]], [[discounts]], [[values]], [[next_values]], [[ends]], gamma=0.9, lam=0.0)
    np.testing.assert_allclose(td.numpy()[0, 0], [[1.4, 0.35, 0.5], [2.8, 3.7, 4.6]], rtol=1e-5)


def test_masked_categorical_gives_illegal_actions_zero_probability():
    import tensorflow as tf

    from mava_plugins.systems.mappo.policy import categorical_entropy, masked_log_softmax

    logits = tf.constant([[5.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    masks = tf.constant([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    probabilities = tf.exp(masked_log_softmax(logits, masks)).numpy()
    assert probabilities[0, 0] == 0.0 and probabilities[1, 2] == 0.0
    np.testing.assert_allclose(probabilities[1], [0.5, 0.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(probabilities[2], tf.nn.softmax(logits[2]).numpy(), rtol=1e-6)  # nothing legal: unmasked
    entropy = categorical_entropy(masked_log_softmax(logits, masks)).numpy()
    assert np.all(np.isfinite(entropy)) and entropy[1] == pytest.approx(np.log(2.0), rel=1e-5)


# ------------------------------------------------------------------------ learning
TWO_STEP = {
    "dataset.sequence_length": 10,
    "dataset.batch_size": 8,
    "dataset.max_size": 16,
    "discount": 1.0,
    "greedy_evaluation": False,  # sampled evaluation: the stochastic policy itself must improve
}


def test_mappo_learns_the_two_step_game(tmp_path):
    """Sampled play starts near random (4.75) and ends on the 7 branch (or better)."""
    summary, _ = local_run(
        tmp_path, "mappo", "debug:two_step", env_steps=2_000, overrides=TWO_STEP, eval_every=500, eval_episodes=20,
        random_baseline_episodes=400,
    )
    assert summary["random_return"] == pytest.approx(4.75, abs=0.6)
    assert summary["evaluations"][0]["mean_return"] < 6.0  # the untrained policy is no better than random
    assert summary["final_mean_return"] >= 6.5
    assert summary["final_mean_return"] >= summary["random_return"] + 1.5
    # every complete batch of 8 sequences of 10 steps was trained on: 25 batches of 4 epochs x 2 minibatches
    assert summary["trainer_steps"] == (2_000 // 10 // 8) * 4 * 2
    trainer_rows = read_csv(os.path.join(tmp_path, "logs", "trainer.csv"))
    assert all(float(row["resampled_sequences"]) == 0 for row in trainer_rows)
    assert all(np.isfinite(float(row["loss/policy_loss"])) for row in trainer_rows)


# -------------------------------------------------------------------- action masks
class MaskedPicks(MultiAgentEnvironment):
    """Two agents, four actions, a fresh random set of legal actions for each agent every step.

    An agent is paid 1 for the highest legal action. No global state (MAPPO's value function
    falls back to ``centralised``). Every action received is recorded with the mask it was
    given, in ``log`` (shared across instances, keyed by seed).
    """

    AGENTS = ["agent_0", "agent_1"]
    ACTIONS = 4
    LENGTH = 5

    def __init__(self, seed: int, log: Dict[int, List[tuple]]):
        self._rng = np.random.default_rng(seed)
        self._log = log.setdefault(seed, [])
        self._spec = MultiAgentSpec(
            agents={
                aid: AgentSpec(
                    observation=specs.Array((self.ACTIONS + 1,), np.float32, "observation"),
                    action=specs.DiscreteArray(self.ACTIONS, dtype=np.int32, name="action"),
                )
                for aid in self.AGENTS
            },
            has_action_masks=True,
        )
        self._masks: Dict[str, np.ndarray] = {}
        self._t = 0

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _observe(self) -> Dict[str, AgentObservation]:
        observations = {}
        for aid in self.AGENTS:
            mask = np.zeros(self.ACTIONS, np.float32)
            mask[self._rng.choice(self.ACTIONS, size=self._rng.integers(1, self.ACTIONS), replace=False)] = 1.0
            self._masks[aid] = mask
            observations[aid] = AgentObservation(np.append(mask, self._t / self.LENGTH).astype(np.float32), mask)
        return observations

    def reset(self) -> dm_env.TimeStep:
        self._t = 0
        return first_timestep(self._spec, self._observe())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        rewards = {}
        for aid in self.AGENTS:
            action = int(actions[aid])
            self._log.append((aid, self._masks[aid].copy(), action))
            rewards[aid] = float(action == np.flatnonzero(self._masks[aid]).max())
        self._t += 1
        last = self._t >= self.LENGTH
        return next_timestep(self._observe(), rewards, dict.fromkeys(self.AGENTS, 1.0), last)


class MaskedPicksPlugin:
    """Registers the ``masked`` environment family (task ``picks``) for one test run."""

    name = "masked_picks"

    def __init__(self):
        self.log: Dict[int, List[tuple]] = {}
        plugin = self

        class Family:
            name = "masked"
            default_task = "picks"

            @classmethod
            def tasks(cls):
                return ["picks"]

            @classmethod
            def make(cls, task="picks", seed=0, **options):
                return MaskedPicks(seed, plugin.log)

        self.family = Family

    @hookimpl
    def mava_register(self, registry):
        registry.add("environment", "masked", self.family, description="random legal-action masks every step")


def test_mappo_never_takes_a_masked_action(tmp_path):
    pm = PluginManager()
    plugin = MaskedPicksPlugin()
    pm.register(plugin, name=plugin.name)
    overrides = {"dataset.sequence_length": 5, "dataset.batch_size": 8, "dataset.epochs": 2}
    summary, builder = local_run(
        tmp_path, "mappo", "masked:picks", env_steps=800, overrides=overrides, eval_every=400, eval_episodes=10,
        random_baseline_episodes=5, plugin_manager=pm,
    )
    assert type(builder.system.architecture).__name__ == "Centralised"  # no global state: the documented fallback
    assert summary["trainer_steps"] == (800 // 5 // 8) * 2 * 2
    executor_seed, evaluator_seed = builder.executor_seed(0, False), builder.executor_seed(0, True)
    assert len(plugin.log[executor_seed]) == 2 * 800  # every executor step, both agents
    assert len(plugin.log[evaluator_seed]) == 2 * 5 * 10 * 3  # three evaluations of ten 5-step episodes
    for seed in (executor_seed, evaluator_seed):
        illegal = [(agent, mask, action) for agent, mask, action in plugin.log[seed] if mask[action] != 1.0]
        assert not illegal, f"masked actions taken (seed {seed}): {illegal[:5]}"
    # and it learns to pick the highest legal action (random legal play scores about 3.1 of 5)
    assert summary["final_mean_return"] > summary["random_return"] + 1.0


def test_state_based_architecture_without_state_can_be_refused(tmp_path):
    pm = PluginManager()
    plugin = MaskedPicksPlugin()
    pm.register(plugin, name=plugin.name)
    run = RunConfig(system="mappo", environment="masked:picks", backend="local", run_dir=str(tmp_path))
    builder = SystemBuilder(run, overrides={"stateless_architecture": "error"}, plugin_manager=pm)
    with pytest.raises(ConfigError, match="global state"):
        _ = builder.system


def test_config_mistakes_are_config_errors():
    for overrides, key in (
        ({"dataset.minibatches": 3}, "dataset.minibatches"),
        ({"dataset.max_size": 4}, "dataset.max_size"),
        ({"initial_log_std": 3.0}, "initial_log_std"),
        ({"clip_epsilon": -0.1}, "clip_epsilon"),
    ):
        run = RunConfig(system="mappo", environment="debug:two_step")
        with pytest.raises(ConfigError, match=key):
            SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager())
    builder = SystemBuilder(RunConfig(system="mappo", environment="debug:two_step"), overrides={"dataset": "transition_replay"},
                            plugin_manager=PluginManager())
    with pytest.raises(ConfigError, match="on_policy_sequences"):
        _ = builder.system


# ------------------------------------------------------------------------ continuous
def test_continuous_actions_smoke(tmp_path):
    """MPE simple_spread with continuous actions: Gaussian policies train and stay in bounds."""
    overrides = {"dataset.sequence_length": 25, "dataset.batch_size": 4, "dataset.max_size": 4, "dataset.epochs": 2}
    summary, builder = local_run(
        tmp_path, "mappo", "pettingzoo:simple_spread_v3", env_steps=300, overrides=overrides, eval_episodes=1,
        random_baseline_episodes=1, env_options={"continuous_actions": True},
    )
    assert not builder.env_spec.discrete
    assert type(builder.system.architecture).__name__ == "StateBased"  # the default: MPE provides a global state
    assert summary["trainer_steps"] == (300 // 25 // 4) * 2 * 2
    assert np.isfinite(summary["final_mean_return"])
    rows = read_csv(os.path.join(tmp_path, "logs", "trainer.csv"))
    assert rows and all(np.isfinite(float(row["loss/total"])) for row in rows)

    # the policy maps its Gaussian samples into the action box
    networks = builder.system.make_networks()
    policy = builder.system.make_policy(networks, evaluation=False, seed=0)
    environment = builder.make_environment(0)
    timestep = environment.reset()
    for _ in range(10):
        policy.observe_global_state(environment.get_state())  # what the mappo plugin's observe hooks do
        actions = policy.select_actions(timestep.observation)
        for agent, action in actions.items():
            bounds = builder.env_spec.agents[agent].action
            assert np.all(action >= bounds.minimum) and np.all(action <= bounds.maximum)
        assert set(policy.extras()) == {"log_probs", "values", "policy_actions"}
        timestep = environment.step(actions)
    environment.close()


# ------------------------------------------------------------------------- launchpad
@pytest.mark.slow
def test_launchpad_trains_on_fresh_sequences_only(tmp_path):
    """Two executors under Launchpad: the trainer takes steps, every sequence is sampled at most
    once, and the queue keeps executors from running far ahead of the trainer."""
    sequence_length, batch_size, max_size, executors = 10, 4, 4, 2
    overrides = {
        "dataset.sequence_length": sequence_length,
        "dataset.batch_size": batch_size,
        "dataset.max_size": max_size,
        "dataset.epochs": 1,
        "dataset.minibatches": 1,
    }
    summary, rows = launchpad_run(tmp_path, "mappo", "debug:simple_spread", 1_500, overrides, executors=executors, eval_episodes=2,
                                  plugins=[ParameterTrace(tmp_path / "trace")])
    # the policy updates reached both executors and the evaluator (exactly unchanged without learning)
    assert_parameters_reached_acting_nodes(tmp_path / "trace", executors=executors)
    assert all(float(row["resampled_sequences"]) == 0 for row in rows)
    sampled = max(int(float(row["sequences_sampled"])) for row in rows)
    # The summary reads the counter when the budget is reached; each executor may still hold up
    # to count_every steps it has not reported (taken while the evaluator was finishing).
    counted = summary["env_steps"]
    unreported = executors * ExecutorWorker.count_every
    assert 0 < sampled <= (counted + unreported) // sequence_length  # at most this many were inserted
    # executors wait for the trainer: what was never trained on fits in the queue, the batch
    # being sampled and each executor's unfinished sequence
    assert counted // sequence_length - sampled <= max_size + batch_size + executors
