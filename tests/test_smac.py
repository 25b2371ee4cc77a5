"""The ``smac`` family against a fake ``StarCraft2Env`` (tests/fakes/fake_smac.py): no StarCraft II needed.

The fake follows today's SMAC master; tests marked with the ``smac_generation`` fixture run
against the older API too (``LegacyStarCraft2Env``). tests/test_smac_real.py runs the real
``StarCraft2Env`` over a fake game.
"""
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


@pytest.fixture(params=["master", "legacy"])
def smac_generation(request, fake_smac, monkeypatch):
    """The fake SMAC as today's master or as the older API; the generation's name."""
    if request.param == "legacy":
        import fake_smac as fakes
        import smac.env

        monkeypatch.setattr(smac.env, "StarCraft2Env", fakes.LegacyStarCraft2Env)
    return request.param


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
        assert env.metrics() == {"battle_won": 0.0, "timeout": 1.0, "dead_allies": 0.0, "dead_enemies": 0.0, "game_restarted": 0.0}


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



def test_madqn_summary_carries_consistent_battle_metrics(fake_smac, tmp_path):
    """A tiny MADQN run on smac:3m: every evaluation row has SMAC's metrics, as means of 2 episodes that agree.

    Checks plumbing and consistency, not learning: 150 steps teach nothing on 3m.
    """
    from helpers import local_run

    overrides = {"dataset.min_size": 32, "dataset.batch_size": 16, "network.hidden_sizes": (16,)}
    summary, _ = local_run(tmp_path, "madqn", "smac:3m", env_steps=150, overrides=overrides,
                           eval_episodes=2, random_baseline_episodes=1)
    assert summary["env_steps"] >= 150
    for row in summary["evaluations"]:
        means = {key: row[f"mean_{key}"] for key in ("battle_won", "timeout", "dead_allies", "dead_enemies", "game_restarted")}
        for key, mean in means.items():
            assert (2 * mean).is_integer(), (key, mean)  # a mean of two per-episode counts
        assert means["game_restarted"] == 0.0
        assert means["battle_won"] + means["timeout"] <= 1.0  # no episode is both won and timed out
        assert 0.0 <= means["dead_allies"] <= 3.0 and 0.0 <= means["dead_enemies"] <= 3.0
        assert means["dead_enemies"] >= 3.0 * means["battle_won"]  # a won battle killed all three enemies
        # an episode that is neither won nor timed out was lost: all three allies dead
        assert means["dead_allies"] >= 3.0 * (1.0 - means["battle_won"] - means["timeout"])


# ---------------------------------------------------------------------- both SMAC API generations
def attack_first_enemy_in_range(timestep, spec):
    """Every living agent attacks the lowest-numbered enemy in range, else walks east (towards them)."""
    actions = {}
    for aid in spec.agent_ids:
        mask = timestep.observation[aid].action_mask
        attacks = np.flatnonzero(mask[6:])
        actions[aid] = 6 + int(attacks[0]) if attacks.size else (4 if mask[4] else int(np.flatnonzero(mask)[0]))
    return actions


def play(env, policy, first=None, max_steps=500):
    """Steps ``env`` with ``policy(timestep, spec)`` until the episode ends; the timesteps after ``first``."""
    timestep = first if first is not None else env.reset()
    steps = []
    for _ in range(max_steps):
        timestep = env.step(policy(timestep, env.multi_agent_spec()))
        steps.append(timestep)
        if timestep.last():
            return steps
    raise AssertionError(f"no episode end within {max_steps} steps")


def test_smac_generations_dead_counts_and_options(smac_generation):
    env = _family().make("3m", seed=2)
    fake = env.smac_env
    infos = []
    original_step = fake.step

    def recording_step(actions):
        result = original_step(actions)
        infos.append(result[2])
        return result

    fake.step = recording_step
    _run_episode(ContractCheckedEnvironment(env, name="smac:3m"))
    metrics = env.metrics()
    truth = {"dead_allies": float((fake.ally_health == 0).sum()), "dead_enemies": float((fake.enemy_health == 0).sum())}
    assert {key: metrics[key] for key in truth} == truth
    if smac_generation == "master":  # the main path: SMAC's own counts, as they are
        assert {key: float(infos[-1][key]) for key in truth} == truth

        def step_with_marked_counts(actions):  # counts no other source could give
            reward, terminated, info = original_step(actions)
            return reward, terminated, {**info, "dead_allies": 7, "dead_enemies": 9}

        fake.step = step_with_marked_counts
        _run_episode(env)
        assert env.metrics()["dead_allies"] == 7.0 and env.metrics()["dead_enemies"] == 9.0
        assert fake._step_mul == 8 and "agent_features" in fake.get_env_info()
        heuristic = _family().make("3m", seed=2, heuristic_ai=True, heuristic_rest=True)
        assert heuristic.smac_env.heuristic_ai is True
    else:  # the older API: counted from the masks and SMAC's death tracker
        assert "dead_allies" not in infos[-1] and fake._step_mul is None
        with pytest.raises(ConfigError, match="unknown option for smac:3m"):
            _family().make("3m", heuristic_ai=True)


def test_smac_won_battle_returns_the_reward_scale_rate(smac_generation):
    """SMAC scales by max_reward = kills + win + every enemy's health and shield: a clean win sums to 20."""
    env = _family().make("3m", seed=0)

    def strong_allies(fake):  # enemies in range that cannot hurt anyone
        fake.ally_health[:] = 1e6
        fake.enemy_pos[:] = fake.ally_pos + [3.0, 0.0]
        fake.ENEMY_DAMAGE = 0.0

    steps = play(env, attack_first_enemy_in_range, first=_reset_into(env, strong_allies))
    assert env.metrics()["battle_won"] == 1.0 and env.metrics()["dead_enemies"] == 3.0
    assert sum(t.reward["agent_0"] for t in steps) == pytest.approx(20.0)  # max_reward 365 on 3m, not 230
    assert env.smac_env.max_reward == 3 * 10 + 200 + 3 * 45


def test_smac_lost_game_ends_the_episode_as_a_truncation(smac_generation):
    """SMAC's ``0, True, {}`` after a protocol error: reward 0, discount 1, the observations acted on, game_restarted."""
    env = _family().make("3m", seed=0)
    fake = env.smac_env
    rng = np.random.default_rng(0)
    _run_episode(env)
    timestep = env.reset()
    timestep = env.step(_random_actions(env.multi_agent_spec(), timestep, rng))
    before = timestep
    fake.fail_next_step()
    timestep = env.step(_random_actions(env.multi_agent_spec(), timestep, rng))
    assert timestep.last() and set(timestep.discount.values()) == {1.0} and set(timestep.reward.values()) == {0.0}
    for aid in before.observation:
        np.testing.assert_array_equal(timestep.observation[aid].observation, before.observation[aid].observation)
    assert env.metrics()["game_restarted"] == 1.0 and env.metrics()["battle_won"] == 0.0
    assert env.metrics()["timeout"] == 0.0 and fake.force_restarts == 1
    assert not env.step({}).last()  # the next step starts a new episode on the new game
    _run_episode(ContractCheckedEnvironment(env, name="smac:3m"))
    assert env.metrics()["game_restarted"] == 0.0


def test_smac_timestep_features_match_the_spec(fake_smac):
    """Master's obs_timestep_number observation is one longer than obs_shape: the wrapper drops the zero slot."""
    env = _family().make("3m", seed=0, obs_timestep_number=True, state_timestep_number=True)
    fake = env.smac_env
    size = fake.get_env_info()["obs_shape"]
    assert size == 31  # 3m: 4 move + 3x5 enemy + 2x5 ally + 1 health + 1 timestep slot, as in SMAC master
    timestep = env.reset()
    assert len(fake.get_obs_agent(0)) == size + 1  # the mismatch the wrapper absorbs
    rng = np.random.default_rng(1)
    for step in range(1, 4):
        timestep = env.step(_random_actions(env.multi_agent_spec(), timestep, rng))
        for i, aid in enumerate(env.multi_agent_spec().agent_ids):
            observation = timestep.observation[aid].observation
            assert observation.shape == (size,) and observation[-1] == pytest.approx(step / 60)
            np.testing.assert_array_equal(observation[:-1], fake.get_obs_agent(i)[:size - 1])
        assert env.get_state()[-1] == pytest.approx(step / 60)
    stacked = _family().make("3m", seed=0, obs_timestep_number=True, obs_instead_of_state=True)
    stacked.reset()
    assert stacked.get_state().shape == stacked.multi_agent_spec().state.shape


def test_smac_reset_before_the_first_episode_end_keeps_the_game_and_reward_scale(fake_smac):
    """SMAC would launch a new game (leaving the old one running) and count enemy health into max_reward again."""
    env = _family().make("3m", seed=0)
    fake = env.smac_env
    timestep = env.reset()
    env.step(_random_actions(env.multi_agent_spec(), timestep, np.random.default_rng(0)))
    env.reset()  # mid-way through the first episode
    timestep = env.reset()
    fake.fail_next_step()
    assert env.step(_random_actions(env.multi_agent_spec(), timestep, np.random.default_rng(0))).last()
    _run_episode(env)  # after a lost game, still in the first episode as SMAC counts them
    assert fake.launches == 2  # the first game, and the one SMAC's restart after the lost game started
    assert fake.max_reward == 3 * 10 + 200 + 3 * 45
