"""Preprocessing env_wrappers (specs, values by hand, a short run) and the switch riddle."""
from __future__ import annotations

import numpy as np
import pytest
from dm_env import specs
from helpers import local_run
from test_environments import _check_timestep, _run_episode  # not tests.*: flatland-rl installs a "tests" package

from mava_core.environment import ContractCheckedEnvironment, MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError
from mava_core.registry import PluginRegistry, Registry
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_plugins.envs.debugging import DebugFamily, SwitchRiddleEnvironment
from mava_plugins.wrappers import plugin as wrappers_plugin
from mava_plugins.wrappers.death_masking import DeathMaskingWrapper
from mava_plugins.wrappers.observation_normalisation import ObservationNormalisationWrapper
from mava_plugins.wrappers.previous_action import PreviousActionWrapper
from mava_plugins.wrappers.reward_normalisation import RewardNormalisationWrapper

NEW_WRAPPERS = ("previous_action", "observation_normalisation", "reward_normalisation", "death_masking")


def _wrappers():
    registry = Registry()
    wrappers_plugin.mava_register(registry=PluginRegistry(registry, "env_wrappers"))
    return registry


REGISTRY = _wrappers()

CASES = [
    ("two_step", {}),
    ("simple_spread", {"num_agents": 2, "max_steps": 5}),
    ("simple_spread", {"num_agents": 2, "max_steps": 5, "continuous": True}),
    ("switch_riddle", {}),
]


@pytest.mark.parametrize("name", NEW_WRAPPERS)
@pytest.mark.parametrize("task,options", CASES, ids=[f"{t}-{len(o)}-{o.get('continuous', False)}" for t, o in CASES])
def test_wrapper_spec_matches_what_it_returns(name, task, options):
    env = REGISTRY.get("env_wrapper", name)(DebugFamily.make(task, seed=0, **options))
    spec = env.multi_agent_spec()
    assert spec is env.multi_agent_spec()
    for seed in range(2):
        _run_episode(ContractCheckedEnvironment(env, name=name), seed=seed)
        _run_episode(env, seed=seed)


def test_wrappers_chain_in_registry_order():
    env = DebugFamily.make("simple_spread", seed=0, num_agents=2, max_steps=4)
    for name in ("agent_id", *NEW_WRAPPERS):
        env = REGISTRY.get("env_wrapper", name)(env)
    assert env.multi_agent_spec().agents["agent_0"].observation.shape == (8 + 2 + 5,)
    _run_episode(ContractCheckedEnvironment(env))


# --------------------------------------------------------------------------- previous_action
def test_previous_action_one_hot_and_zeros_at_start():
    env = PreviousActionWrapper(DebugFamily.make("two_step"))
    assert env.multi_agent_spec().agents["agent_0"].observation.shape == (5,)
    timestep = env.reset()
    np.testing.assert_array_equal(timestep.observation["agent_0"].observation, [1, 0, 0, 0, 0])
    timestep = env.step({"agent_0": 1, "agent_1": 0})
    np.testing.assert_array_equal(timestep.observation["agent_0"].observation, [0, 0, 1, 0, 1])
    np.testing.assert_array_equal(timestep.observation["agent_1"].observation, [0, 0, 1, 1, 0])
    timestep = env.step({"agent_0": 0, "agent_1": 1})
    assert timestep.last()
    np.testing.assert_array_equal(timestep.observation["agent_1"].observation[-2:], [0, 1])
    timestep = env.step({"agent_0": 1, "agent_1": 1})  # after LAST: a new episode, zeros again
    assert timestep.first()
    np.testing.assert_array_equal(timestep.observation["agent_0"].observation[-2:], [0, 0])
    np.testing.assert_array_equal(env.reset().observation["agent_1"].observation[-2:], [0, 0])


def test_previous_action_continuous_vector():
    env = PreviousActionWrapper(DebugFamily.make("simple_spread", num_agents=2, continuous=True))
    assert env.multi_agent_spec().agents["agent_1"].observation.shape == (10,)
    np.testing.assert_array_equal(env.reset().observation["agent_0"].observation[-2:], [0, 0])
    action = np.array([0.25, -0.5], np.float32)
    timestep = env.step({"agent_0": action, "agent_1": -action})
    np.testing.assert_array_equal(timestep.observation["agent_0"].observation[-2:], action)
    np.testing.assert_array_equal(timestep.observation["agent_1"].observation[-2:], -action)


# ------------------------------------------------------------------ a tiny scripted environment
class _ScriptedEnv(MultiAgentEnvironment):
    """Two agents, ``a`` and ``b``; observations, rewards and discounts come from a script.

    ``script[t]`` is ``(obs_a, obs_b, reward_a, reward_b, discount_a, discount_b)`` for step t
    (t = 0 is reset); the episode's LAST is the script's last row.
    """

    def __init__(self, script, mask_b_dead=None):
        self.script = script
        self.mask_b_dead = mask_b_dead
        agent = AgentSpec(specs.Array((2,), np.float32), specs.DiscreteArray(3, dtype=np.int32))
        self.spec = MultiAgentSpec(agents={"a": agent, "b": agent})
        self.t = 0

    def multi_agent_spec(self):
        return self.spec

    def _obs(self):
        row = self.script[self.t]
        mask_b = np.ones((3,), np.float32)
        if self.mask_b_dead is not None and self.t >= 1:  # b terminates on step 1 in the death script
            mask_b = np.asarray(self.mask_b_dead, np.float32)
        return {
            "a": AgentObservation(np.asarray(row[0], np.float32), np.ones((3,), np.float32)),
            "b": AgentObservation(np.asarray(row[1], np.float32), mask_b),
        }

    def reset(self):
        self.t = 0
        return first_timestep(self.spec, self._obs())

    def step(self, actions):
        if self.t == len(self.script) - 1:
            return self.reset()
        self.t += 1
        row = self.script[self.t]
        return next_timestep(self._obs(), {"a": row[2], "b": row[3]}, {"a": row[4], "b": row[5]},
                             self.t == len(self.script) - 1)


def _stream(values):
    """A scripted env whose observations for ``a`` (and ``b``, doubled) are ``values``."""
    return [((v, -v), (2 * v, 0.0), 0.0, 0.0, 1.0, 1.0) for v in values]


# --------------------------------------------------------------------- observation_normalisation
def test_observation_normalisation_converges_to_standard():
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, 2000)
    env = ObservationNormalisationWrapper(_ScriptedEnv(_stream(values)))
    out = [env.reset().observation]
    for _ in range(len(values) - 1):
        out.append(env.step({"a": 0, "b": 0}).observation)
    late = np.array([o["a"].observation for o in out[500:]])
    assert abs(late[:, 0].mean()) < 0.1 and abs(late[:, 0].std() - 1.0) < 0.1
    np.testing.assert_allclose(late[:, 1], -late[:, 0], atol=1e-5)
    # a and b have different ids and types ("a", "b"): separate statistics
    assert env.statistics("a") is not env.statistics("b")
    np.testing.assert_allclose(env.statistics("a").mean, [values.mean(), -values.mean()], atol=1e-8)
    np.testing.assert_allclose(env.statistics("a").var, [values.var(), values.var()], rtol=1e-8)
    assert out[-1]["a"].observation.dtype == np.float32


def test_observation_normalisation_values_and_clip():
    env = ObservationNormalisationWrapper(_ScriptedEnv(_stream([1.0, 3.0, 1000.0])))
    first = env.reset().observation["a"].observation
    np.testing.assert_array_equal(first, [0.0, 0.0])  # one sample: zero deviation
    second = env.step({"a": 0, "b": 0}).observation["a"].observation
    np.testing.assert_allclose(second, [1.0, -1.0], atol=1e-6)  # mean 2, var 1
    third = env.step({"a": 0, "b": 0}).observation["a"].observation
    np.testing.assert_allclose(third, [1.4142, -1.4142], atol=1e-3)  # (x - mean) / std with n = 3
    env = ObservationNormalisationWrapper(_ScriptedEnv(_stream([0.0] * 50 + [1000.0])))
    env.reset()
    for _ in range(50):
        timestep = env.step({"a": 0, "b": 0})
    np.testing.assert_array_equal(timestep.observation["a"].observation, [5.0, -5.0])


def test_observation_normalisation_shares_statistics_per_agent_type():
    env = ObservationNormalisationWrapper(DebugFamily.make("simple_spread", num_agents=2))
    assert env.statistics("agent_0") is env.statistics("agent_1")
    env.reset()
    assert env.statistics("agent_0").count == 2


# ------------------------------------------------------------------------ reward_normalisation
def test_reward_normalisation_by_hand():
    script = [((0, 0), (0, 0), 0.0, 0.0, 1.0, 1.0), ((0, 0), (0, 0), 1.0, -2.0, 1.0, 1.0),
              ((0, 0), (0, 0), 1.0, 0.0, 1.0, 1.0), ((0, 0), (0, 0), -1.0, 4.0, 0.0, 0.0)]
    env = RewardNormalisationWrapper(_ScriptedEnv(script))
    timestep = env.reset()
    assert timestep.reward == {"a": 0.0, "b": 0.0}
    timestep = env.step({"a": 0, "b": 0})  # one return seen: scale 1
    assert timestep.reward == {"a": 1.0, "b": -2.0}
    timestep = env.step({"a": 0, "b": 0})  # returns a: 1, 1.99
    returns_a = [1.0, 1.99]
    assert timestep.reward["a"] == pytest.approx(1.0 / np.std(returns_a), rel=1e-5)
    assert timestep.reward["b"] == 0.0
    timestep = env.step({"a": 0, "b": 0})
    returns_a.append(0.99 * 1.99 - 1.0)
    assert timestep.reward["a"] == pytest.approx(-1.0 / np.std(returns_a), rel=1e-5)  # sign kept
    returns_b = [-2.0, -1.98, 0.99 * -1.98 + 4.0]
    assert timestep.reward["b"] == pytest.approx(4.0 / np.std(returns_b), rel=1e-5)
    assert timestep.reward["b"].dtype == np.float32
    env.step({"a": 0, "b": 0})  # after LAST: the new episode's return starts at 0
    assert env._returns == {"a": 0.0, "b": 0.0}


def test_reward_normalisation_makes_return_scale_unit():
    env = RewardNormalisationWrapper(DebugFamily.make("simple_spread", num_agents=2, max_steps=25))
    for _ in range(20):
        _run_episode(env)
    raw_scale = env.scale("agent_0")
    assert raw_scale > 1.0  # returns of ~ -2 per step add up to ~ -30..-50
    returns, scaled = 0.0, []
    timestep = env.reset()
    while not timestep.last():
        timestep = env.step({"agent_0": 0, "agent_1": 0})
        returns = 0.99 * returns + float(timestep.reward["agent_0"])
        scaled.append(returns)
    assert max(abs(r) for r in scaled) < 25  # ~ a few standard deviations of the scaled return


# ------------------------------------------------------------------------------- death_masking
def _death_script():
    # b's discount goes to 0 on step 1; the raw env keeps giving b observations and rewards
    return [((1, 1), (2, 2), 0.0, 0.0, 1.0, 1.0), ((1, 1), (3, 3), 1.0, 5.0, 1.0, 0.0),
            ((1, 1), (4, 4), 1.0, 7.0, 1.0, 1.0), ((1, 1), (5, 5), 1.0, 9.0, 1.0, 0.0)]


@pytest.mark.parametrize("dead_mask", [None, (0, 0, 0), (1, 0, 0)])
def test_death_masking_zeroes_after_discount_zero(dead_mask):
    env = DeathMaskingWrapper(_ScriptedEnv(_death_script(), mask_b_dead=dead_mask))
    checked = ContractCheckedEnvironment(env)
    timestep = checked.reset()
    spec = env.multi_agent_spec()
    timestep = checked.step({"a": 0, "b": 0})  # b's terminal step: passed through
    _check_timestep(spec, timestep)
    np.testing.assert_array_equal(timestep.observation["b"].observation, [3, 3])
    assert timestep.reward["b"] == 5.0 and timestep.discount["b"] == 0.0
    assert env.dead_agents == set()
    expected_mask = [1, 1, 1] if dead_mask in (None, (0, 0, 0)) else list(dead_mask)
    for _ in range(2):
        timestep = checked.step({"a": 0, "b": 0})
        _check_timestep(spec, timestep)
        assert env.dead_agents == {"b"}
        np.testing.assert_array_equal(timestep.observation["b"].observation, [0, 0])
        assert timestep.observation["b"].observation.dtype == np.float32
        np.testing.assert_array_equal(timestep.observation["b"].action_mask, expected_mask)
        assert timestep.reward["b"] == 0.0 and timestep.discount["b"] == 0.0
        np.testing.assert_array_equal(timestep.observation["a"].observation, [1, 1])
        assert timestep.reward["a"] == 1.0 and timestep.discount["a"] == 1.0
    assert timestep.last()
    timestep = checked.step({"a": 0, "b": 0})  # a new episode: b is alive again
    assert timestep.first() and env.dead_agents == set()
    timestep = checked.step({"a": 0, "b": 0})
    np.testing.assert_array_equal(timestep.observation["b"].observation, [3, 3])


def test_death_masking_leaves_episodes_without_deaths_alone():
    env = DeathMaskingWrapper(DebugFamily.make("two_step"))
    raw = DebugFamily.make("two_step")
    for wrapped, plain in zip(_run_episode(env), _run_episode(raw)):
        assert wrapped.reward == plain.reward and wrapped.discount == plain.discount


# --------------------------------------------------------------------------------- a short run
def test_madqn_run_with_wrappers(tmp_path):
    summary, builder = local_run(
        tmp_path, "madqn", "debug:simple_spread", env_steps=300, eval_episodes=1, random_baseline_episodes=1,
        env_options={"max_steps": 10},
        overrides={"run.env_wrappers": "previous_action,observation_normalisation",
                   "dataset.min_size": 100, "dataset.batch_size": 16},
    )
    assert summary["env_steps"] >= 300 and summary["trainer_steps"] > 0
    assert builder.run.env_wrappers == ("previous_action", "observation_normalisation")


# ------------------------------------------------------------------------------ switch riddle
def _play(env, plan):
    """Step ``env`` (after reset) with the agent in the room taking ``plan[t]``; returns timesteps."""
    out = [env.reset()]
    for action in plan:
        actions = {aid: 0 for aid in env.multi_agent_spec().agent_ids}
        actions[env.agent_in_room] = action
        out.append(env.step(actions))
        if out[-1].last():
            break
    return out


def _seed_where_all_visit_by(step, num_agents=3):
    for seed in range(200):
        env = SwitchRiddleEnvironment(seed=seed, num_agents=num_agents)
        timesteps = _play(env, [0] * (step - 1))
        if env._visited.all() and not timesteps[-1].last():
            return seed
    raise AssertionError("no such seed")


def test_switch_riddle_spec_masks_and_observations():
    env = DebugFamily.make("switch_riddle", seed=0)
    spec = env.multi_agent_spec()
    assert spec.agent_ids == ["agent_0", "agent_1", "agent_2"] and spec.has_action_masks
    assert env._max_steps == 6  # 4 * 3 - 6
    assert spec.state.shape == (8,)
    timestep = env.reset()
    inside = env.agent_in_room
    for aid, obs in timestep.observation.items():
        if aid == inside:
            np.testing.assert_array_equal(obs.action_mask, [1, 1, 1])
            np.testing.assert_array_equal(obs.observation, [1, 0, 0])
        else:
            np.testing.assert_array_equal(obs.action_mask, [1, 0, 0])
            np.testing.assert_array_equal(obs.observation, [0, 0, 0])
    timestep = _play(env, [1])[-1]  # toggle: light on, seen only by whoever is in the room next
    assert timestep.mid() and timestep.reward["agent_0"] == 0.0
    for aid, obs in timestep.observation.items():
        inside = aid == env.agent_in_room
        np.testing.assert_allclose(obs.observation, [inside, inside, 1 / 6], atol=1e-6)
    state = env.get_state()
    assert state[3] == 1.0 and state[:3].sum() == 1.0


def test_switch_riddle_tell_too_early_is_minus_one():
    env = SwitchRiddleEnvironment(seed=0, num_agents=3)
    timesteps = _play(env, [2])  # only one agent has been in the room
    last = timesteps[-1]
    assert last.last() and len(timesteps) == 2
    assert last.reward == dict.fromkeys(env.multi_agent_spec().agent_ids, -1.0)
    assert all(d == 0.0 for d in last.discount.values())
    assert env.metrics() == {"success": 0.0, "told_too_early": 1.0}


def test_switch_riddle_tell_after_everyone_visited_is_plus_one():
    seed = _seed_where_all_visit_by(5)
    env = SwitchRiddleEnvironment(seed=seed, num_agents=3)
    timesteps = _play(env, [0] * 4 + [2])
    last = timesteps[-1]
    assert last.last() and all(r == 1.0 for r in last.reward.values())
    assert env.metrics()["success"] == 1.0


def test_switch_riddle_time_limit_and_illegal_actions():
    env = SwitchRiddleEnvironment(seed=1, num_agents=3, max_steps=4)
    env.reset()
    outside = [aid for aid in env.multi_agent_spec().agent_ids if aid != env.agent_in_room]
    actions = {aid: 0 for aid in env.multi_agent_spec().agent_ids}
    actions[outside[0]] = 2  # masked tell from outside the room: ignored
    timestep = env.step(actions)
    assert timestep.mid() and not env._light
    timesteps = _play(env, [0] * 10)
    assert len(timesteps) == 5 and timesteps[-1].last()
    assert all(r == 0.0 for r in timesteps[-1].reward.values())
    assert all(d == 0.0 for d in timesteps[-1].discount.values())


def test_switch_riddle_deterministic_under_seed_and_options():
    def visitors(seed):
        env = SwitchRiddleEnvironment(seed=seed, num_agents=4)
        rooms = []
        for _ in range(3):
            _play(env, [0] * 10)
            rooms.append(env.get_state().tolist())
        return rooms

    assert visitors(5) == visitors(5)
    assert visitors(5) != visitors(6)
    assert SwitchRiddleEnvironment(num_agents=4)._max_steps == 10
    with pytest.raises(ConfigError) as info:
        DebugFamily.make("switch_riddle", num_agents=0)
    assert info.value.key == "env.num_agents"
    with pytest.raises(ConfigError):
        DebugFamily.make("switch_riddle", max_steps=0)
