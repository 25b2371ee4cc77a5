"""The ``smac`` family against a fake ``StarCraft2Env`` (tests/fakes/fake_smac.py): no StarCraft II needed."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from test_environments import _random_actions, _run_episode

from mava_core.environment import ContractCheckedEnvironment
from mava_core.errors import ConfigError, MavaError, MissingDependencyError, UnknownNameError
from mava_core.registry import PluginRegistry, Registry
from mava_plugins.envs import smac_plugin

FAKES = os.path.join(os.path.dirname(__file__), "fakes")


def _forget_smac():
    for name in [n for n in sys.modules if n == "smac" or n.startswith("smac.") or n == "fake_smac"]:
        del sys.modules[name]


@pytest.fixture
def fake_smac(monkeypatch):
    """Puts the fake ``smac`` package first on sys.path for this test only."""
    _forget_smac()
    monkeypatch.syspath_prepend(FAKES)
    yield
    _forget_smac()


def _family():
    registry = Registry()
    smac_plugin.mava_register(registry=PluginRegistry(registry, "smac"))
    return registry.get("environment", "smac")


TASKS = ["3m", "2s3z", "5m_vs_6m"]


@pytest.mark.parametrize("task", TASKS)
def test_smac_task_conforms(fake_smac, task):
    env = _family().make(task, seed=0)
    spec = env.multi_agent_spec()
    info = env.smac_env.get_env_info()
    assert spec.agent_ids == [f"agent_{i}" for i in range(info["n_agents"])]
    assert spec.has_action_masks and spec.homogeneous()
    for agent in spec.agents.values():
        assert agent.observation.shape == (info["obs_shape"],)
        assert agent.num_actions == info["n_actions"] and agent.action.dtype == np.int32
    assert spec.state.shape == (info["state_shape"],)
    trajectory = _run_episode(ContractCheckedEnvironment(env, name=f"smac:{task}"))
    assert len(trajectory) - 1 <= info["episode_limit"]
    assert set(env.metrics()) >= {"battle_won", "timeout", "dead_allies", "dead_enemies"}
    _run_episode(env, seed=1)  # a second episode on the same game
    env.close()
    assert env.smac_env.closed


def test_smac_masks_are_honoured_and_forwarded(fake_smac):
    env = _family().make("3m", seed=0)
    timestep = env.reset()
    fake = env.smac_env
    for i, aid in enumerate(env.multi_agent_spec().agent_ids):
        np.testing.assert_array_equal(timestep.observation[aid].action_mask, fake.get_avail_agent_actions(i))
        np.testing.assert_array_equal(timestep.observation[aid].observation, fake.get_obs_agent(i))
    np.testing.assert_array_equal(env.get_state(), fake.get_state())
    assert timestep.observation["agent_0"].action_mask[0] == 0  # no-op is only for the dead
    with pytest.raises(MavaError, match=r"agent 'agent_0' chose action 0, which is not available now \(available: \[1, 2"):
        env.step({"agent_0": 0, "agent_1": 1, "agent_2": 1})
    env.step({"agent_0": 2, "agent_1": 1, "agent_2": 5})
    assert fake.actions_received == [[2, 1, 5]]


def _reset_into(env, setup):
    """``env.reset()`` with ``setup(fake)`` applied to the fake game before the wrapper observes it."""
    fake = env.smac_env
    original = fake.reset

    def reset():
        original()
        setup(fake)
        return fake.get_obs(), fake.get_state()

    fake.reset = reset
    try:
        return env.reset()
    finally:
        fake.reset = original


def _play_until(env, timestep, predicate, rng, max_steps=200):
    for _ in range(max_steps):
        timestep = env.step(_random_actions(env.multi_agent_spec(), timestep, rng))
        if predicate(timestep) or timestep.last():
            return timestep
    raise AssertionError("predicate never held")


def test_smac_dead_agents_get_noop_only_and_zero_observations(fake_smac):
    env = _family().make("3m", seed=0)
    fake = env.smac_env
    rng = np.random.default_rng(0)

    def agent_1_died(timestep):
        return timestep.observation["agent_1"].action_mask[0] == 1

    def one_hit_from_death(fake):  # agent 1 is surrounded by every enemy
        fake.ally_health[1] = 1.0
        fake.enemy_pos[:] = fake.ally_pos[1] + [1.0, 0.0]

    timestep = _reset_into(env, one_hit_from_death)
    timestep = _play_until(env, timestep, agent_1_died, rng, max_steps=20)
    assert not timestep.last() and fake.ally_health[1] == 0.0
    dead = timestep.observation["agent_1"]
    np.testing.assert_array_equal(dead.action_mask, [1, 0, 0, 0, 0, 0, 0, 0, 0])
    assert not dead.observation.any()
    assert timestep.reward["agent_0"] == timestep.reward["agent_1"] == timestep.reward["agent_2"]  # team reward
    timestep = env.step(_random_actions(env.multi_agent_spec(), timestep, rng))
    assert fake.actions_received[-1][1] == 0  # the dead unit's no-op reaches SMAC


def test_smac_win_loss_and_timeout_discounts(fake_smac):
    family = _family()
    env = family.make("3m", seed=0)
    fake = env.smac_env
    def last_enemy_nearly_dead(fake):  # one enemy left, next to agent 0
        fake.enemy_health[:] = [0.0, 0.0, 5.0]
        fake.death_tracker_enemy[:] = [1, 1, 0]
        fake.enemy_pos[2] = fake.ally_pos[0] + [1.0, 0.0]

    _reset_into(env, last_enemy_nearly_dead)
    timestep = env.step({"agent_0": 8, "agent_1": 1, "agent_2": 1})
    assert timestep.last() and set(timestep.discount.values()) == {0.0}
    assert env.metrics()["battle_won"] == 1.0 and env.metrics()["timeout"] == 0.0
    assert timestep.reward["agent_0"] > 0

    def last_ally_nearly_dead(fake):  # one ally left, surrounded
        fake.ally_health[:] = [0.0, 0.0, 1.0]
        fake.death_tracker_ally[:] = [1, 1, 0]
        fake.enemy_pos[:] = fake.ally_pos[2] + [1.0, 0.0]

    timestep = _reset_into(env, last_ally_nearly_dead)
    loss = _play_until(env, timestep, lambda t: False, np.random.default_rng(0), max_steps=30)
    assert loss.last() and set(loss.discount.values()) == {0.0}
    assert env.metrics()["battle_won"] == 0.0 and env.metrics()["timeout"] == 0.0
    assert env.metrics()["dead_allies"] == 3.0

    # at the episode limit: truncation (discount 1), with or without SMAC's episode_limit flag
    for continuing in (False, True):
        env = family.make("3m", seed=0, continuing_episode=continuing)
        fake = env.smac_env
        def out_of_reach(fake):  # nobody fights
            fake.enemy_pos[:] = 100.0

        timestep = _reset_into(env, out_of_reach)
        for step in range(fake.episode_limit):
            timestep = env.step(dict.fromkeys(env.multi_agent_spec().agent_ids, 1))
            assert timestep.last() == (step == fake.episode_limit - 1)
        assert set(timestep.discount.values()) == {1.0}
        assert env.metrics() == {"battle_won": 0.0, "timeout": 1.0, "dead_allies": 0.0, "dead_enemies": 0.0}


def test_smac_same_seed_same_trajectory(fake_smac):
    def rollout(seed):
        env = _family().make("3m", seed=seed)
        return _run_episode(env) + _run_episode(env)

    first, second, other = rollout(3), rollout(3), rollout(4)
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.step_type == b.step_type
        for aid in a.observation:
            np.testing.assert_array_equal(a.observation[aid].observation, b.observation[aid].observation)
            np.testing.assert_array_equal(a.observation[aid].action_mask, b.observation[aid].action_mask)
            assert a.reward[aid] == b.reward[aid] and a.discount[aid] == b.discount[aid]
    assert len(first) != len(other) or any(
        not np.array_equal(a.observation["agent_0"].observation, b.observation["agent_0"].observation)
        for a, b in zip(first, other)
    )


def test_smac_options_are_checked(fake_smac):
    family = _family()
    env = family.make("3m", seed=5, difficulty=3, reward_sparse=True, step_mul=8, move_amount=1.5)
    fake = env.smac_env
    assert fake.difficulty == "3" and fake.reward_sparse is True and fake._move_amount == 1.5 and fake.seed() == 5
    cases = [
        ({"bogus": 1}, "env.bogus", "unknown option for smac:3m; valid options: step_mul"),
        ({"difficulty": "hard"}, "env.difficulty", "must be one of 1, 2"),
        ({"reward_sparse": "yes"}, "env.reward_sparse", "must be true or false"),
        ({"reward_win": "lots"}, "env.reward_win", "must be a number"),
        ({"map_name": "8m"}, "env.map_name", "is set from the task name"),
    ]
    for options, key, message in cases:
        with pytest.raises(ConfigError) as info:
            family.make("3m", **options)
        assert info.value.key == key and message in str(info.value)
    with pytest.raises(UnknownNameError) as unknown:
        family.make("4m")
    assert "3m" in str(unknown.value) and "2s3z" in str(unknown.value)
    assert {"3m", "8m", "2s3z", "MMM2", "corridor"} <= set(family.tasks())


def test_smac_game_that_cannot_start_is_reported(fake_smac, monkeypatch):
    env = _family().make("3m")

    def no_game():
        raise FileNotFoundError("[Errno 2] No such file or directory: '/root/StarCraftII/Versions'")

    monkeypatch.setattr(env.smac_env, "_launch", no_game)
    with pytest.raises(MavaError, match=r"smac:3m: StarCraft II could not be started .*\$SC2PATH"):
        env.reset()


def _assert_install_message(error):
    message = str(error.value)
    assert isinstance(error.value, MissingDependencyError)
    assert "pip install git+https://github.com/oxwhirl/smac.git" in message
    assert "SMAC3" in message and "$SC2PATH" in message and "docs/environments/smac.md" in message


def test_smac_missing_entirely(monkeypatch):
    _forget_smac()
    monkeypatch.setitem(sys.modules, "smac", None)  # import smac -> ModuleNotFoundError
    with pytest.raises(MissingDependencyError) as error:
        _family().make("3m")
    _assert_install_message(error)
    assert "is not installed" in str(error.value)


def test_smac3_instead_of_smac(monkeypatch, tmp_path):
    _forget_smac()
    package = tmp_path / "smac"
    package.mkdir()
    (package / "__init__.py").write_text('"""SMAC3: hyper-parameter optimisation."""\nversion = "2.0.2"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(MissingDependencyError) as error:
            _family().make("3m")
        _assert_install_message(error)
        assert "no 'smac.env' module (it looks like SMAC3)" in str(error.value)
        (package / "env.py").write_text("class Other:\n    pass\n")  # smac.env without StarCraft2Env
        _forget_smac()
        with pytest.raises(MissingDependencyError, match="has no 'smac.env.StarCraft2Env'"):
            _family().make("3m")
    finally:
        _forget_smac()



def test_madqn_reports_win_rate(fake_smac, tmp_path):
    """A tiny MADQN run on smac:3m: the evaluator's summary carries the win rate."""
    from helpers import local_run

    overrides = {"dataset.min_size": 32, "dataset.batch_size": 16, "network.hidden_sizes": (16,)}
    summary, _ = local_run(tmp_path, "madqn", "smac:3m", env_steps=150, overrides=overrides,
                           eval_episodes=2, random_baseline_episodes=1)
    final = summary["evaluations"][-1]
    assert 0.0 <= final["mean_battle_won"] <= 1.0
    assert "mean_dead_allies" in final and "mean_timeout" in final
    assert summary["env_steps"] >= 150
