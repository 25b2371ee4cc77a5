"""The ``smac`` family against the REAL ``smac.env.StarCraft2Env`` (oxwhirl/smac master), over a fake game.

Only StarCraft II's launch and controller are replaced (tests/fakes/fake_sc2.py serves
s2clientprotocol messages from a small simulated battle); everything above the game is
SMAC's own code: unit bookkeeping, observations, masks, rewards, ``info``, restarts.
Skipped when real SMAC is not importable; ``make test`` installs it from
``../shared/third_party/smac-master-src.tar.gz`` when that file is there (``make smac``).
"""
from __future__ import annotations

import importlib
import os
import sys

import numpy as np
import pytest
from test_environments import _random_actions, _run_episode
from test_smac import _family, _forget_smac, attack_first_enemy_in_range, play

from mava_core.environment import ContractCheckedEnvironment


def _real_smac_problem():
    """Why real SMAC cannot be imported here (None: it can)."""
    fakes = os.path.join(os.path.dirname(__file__), "fakes")
    if any(os.path.abspath(p or ".") == fakes for p in sys.path):
        return "tests/fakes (the fake smac package) is on sys.path"
    try:
        importlib.import_module("smac.env.starcraft2.starcraft2")
        importlib.import_module("fakes.fake_sc2")
    except ImportError as error:
        return f"{type(error).__name__}: {error}"
    finally:
        _forget_smac()
    return None


PROBLEM = _real_smac_problem()
pytestmark = pytest.mark.skipif(
    PROBLEM is not None,
    reason=f"real SMAC (oxwhirl/smac with pysc2) is not importable ({PROBLEM}); `make smac` installs it",
)


@pytest.fixture
def game(monkeypatch):
    """Real SMAC with the fake StarCraft II; the launcher that records the games SMAC started."""
    from fakes.fake_sc2 import patch_smac

    _forget_smac()  # a fake smac left by another test
    starcraft2 = importlib.import_module("smac.env.starcraft2.starcraft2")
    assert "tests/fakes" not in starcraft2.__file__.replace(os.sep, "/")
    yield patch_smac(monkeypatch, starcraft2)
    _forget_smac()


@pytest.mark.parametrize("task", ["3m", "2s3z"])
def test_real_smac_episodes_conform_and_report_smac_dead_counts(game, task):
    env = _family().make(task, seed=3)
    smac_env = env.smac_env
    assert type(smac_env).__module__ == "smac.env.starcraft2.starcraft2"
    info = smac_env.get_env_info()
    spec = env.multi_agent_spec()
    assert spec.agents["agent_0"].observation.shape == (info["obs_shape"],)
    assert spec.state.shape == (info["state_shape"],)
    infos = []
    step = smac_env.step
    smac_env.step = lambda actions: infos.append(step(actions)) or infos[-1]
    for seed in (0, 1):
        trajectory = _run_episode(ContractCheckedEnvironment(env, name=f"smac:{task}"), seed=seed)
        assert len(trajectory) - 1 <= info["episode_limit"]
        reward, terminated, last_info = infos[-1]
        dead = {
            "dead_allies": float(sum(u.health == 0 for u in smac_env.agents.values())),
            "dead_enemies": float(sum(u.health == 0 for u in smac_env.enemies.values())),
        }
        assert {key: float(last_info[key]) for key in dead} == dead  # SMAC's info, used as it is
        assert {key: env.metrics()[key] for key in dead} == dead
        assert env.metrics()["battle_won"] == float(last_info["battle_won"])
    assert len(game.processes) == 1 and game.games[0].spawns == 2  # the second episode: SMAC's kill-all restart
    assert {r.random_seed for r in game.create_requests} == {3}
    env.close()
    assert game.processes[0].controller.closed


def test_real_smac_won_battle_returns_the_reward_scale_rate(game):
    """SMAC's max_reward counts every enemy's health: a win from full health sums to reward_scale_rate (20)."""
    env = _family().make("3m", seed=0)
    first = env.reset()
    for enemy in game.game.team(2):
        enemy.damage = 0.0  # the allies cannot lose
    steps = play(env, attack_first_enemy_in_range, first=first)
    assert env.metrics()["battle_won"] == 1.0 and env.metrics()["dead_enemies"] == 3.0
    assert sum(t.reward["agent_0"] for t in steps) == pytest.approx(20.0)
    assert env.smac_env.max_reward == 3 * 10 + 200 + 3 * 45
    assert set(steps[-1].discount.values()) == {0.0}


def test_real_smac_lost_game_ends_the_episode_as_a_truncation(game):
    from pysc2.lib import protocol

    env = _family().make("3m", seed=0)
    rng = np.random.default_rng(0)
    _run_episode(env)
    timestep = env.step(_random_actions(env.multi_agent_spec(), env.reset(), rng))
    game.game.fail_next = protocol.ProtocolError("the game went away")
    acted_on = timestep
    timestep = env.step(_random_actions(env.multi_agent_spec(), timestep, rng))
    assert timestep.last() and set(timestep.discount.values()) == {1.0} and set(timestep.reward.values()) == {0.0}
    for aid, observation in acted_on.observation.items():
        np.testing.assert_array_equal(timestep.observation[aid].observation, observation.observation)
    assert env.metrics()["game_restarted"] == 1.0 and env.metrics()["battle_won"] == 0.0
    assert env.smac_env.force_restarts == 1 and len(game.processes) == 2 and game.processes[0].controller.closed
    _run_episode(ContractCheckedEnvironment(env, name="smac:3m"))  # the next episode plays on the new game
    assert env.metrics()["game_restarted"] == 0.0 and len(game.processes) == 2


def test_real_smac_timestep_options_match_the_spec(game):
    """Master's obs_timestep_number observations are obs_shape + 1 long; the wrapper's are obs_shape, timestep last."""
    env = _family().make("3m", seed=0, obs_timestep_number=True, state_timestep_number=True)
    size = env.smac_env.get_env_info()["obs_shape"]
    timestep = env.reset()
    assert len(env.smac_env.get_obs_agent(0)) == size + 1  # SMAC master's own mismatch
    rng = np.random.default_rng(0)
    checked = ContractCheckedEnvironment(env, name="smac:3m")
    for step in range(1, 4):
        timestep = checked.step(_random_actions(env.multi_agent_spec(), timestep, rng))
        observation = timestep.observation["agent_0"].observation
        assert observation.shape == (size,) and observation[-1] == pytest.approx(step / 60)
        assert env.get_state()[-1] == pytest.approx(step / 60)
    stacked = _family().make("3m", seed=0, obs_timestep_number=True, obs_instead_of_state=True)
    stacked.reset()
    assert stacked.get_state().shape == stacked.multi_agent_spec().state.shape


def test_real_smac_heuristic_ai_and_options_reach_smac(game):
    env = _family().make("3m", seed=0, heuristic_ai=True, step_mul=4, difficulty=3)
    assert env.smac_env._step_mul == 4 and env.smac_env.difficulty == "3"
    env.reset()
    env.step(dict.fromkeys(env.multi_agent_spec().agent_ids, 1))  # every agent asks to stop ...
    abilities = {a.action_raw.unit_command.ability_id for a in game.game.actions_received[-1].actions}
    assert abilities == {23}  # ... and SMAC's heuristic AI attacks instead
    assert game.create_requests[0].player_setup[1].difficulty == 3  # sc_pb.Medium


def test_real_smac_reset_before_the_first_episode_end_keeps_the_game_and_reward_scale(game):
    """Unwrapped, SMAC would start a third game here, leave the second running, and scale rewards by 500, not 365."""
    from pysc2.lib import protocol

    env = _family().make("3m", seed=0)
    rng = np.random.default_rng(0)
    env.step(_random_actions(env.multi_agent_spec(), env.reset(), rng))
    env.reset()  # mid-way through the first episode
    timestep = env.reset()
    game.game.fail_next = protocol.ProtocolError("the game went away")  # lost at the next step
    assert env.step(_random_actions(env.multi_agent_spec(), timestep, rng)).last()
    _run_episode(ContractCheckedEnvironment(env, name="smac:3m"))
    assert len(game.processes) == 2 and [p.controller.closed for p in game.processes] == [True, False]
    assert env.smac_env.max_reward == 3 * 10 + 200 + 3 * 45
