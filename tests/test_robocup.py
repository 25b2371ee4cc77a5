"""The ``robocup`` family's parsing, and what only a scripted rcssserver can show (tests/fakes/fake_rcssserver.py).

Kick-off, goals, time_over and a dying server are tested against both the real server and the
scripted one in tests/test_robocup_real.py.
"""
from __future__ import annotations

import math
import socket
import time

import numpy as np
import pytest
from fakes.fake_rcssserver import FakeRcssServer
from test_environments import _check_timestep, _run_episode

from mava_core.environment import ContractCheckedEnvironment
from mava_core.errors import ConfigError, UnknownNameError
from mava_core.registry import PluginRegistry, Registry
from mava_plugins.envs import robocup, robocup_plugin
from mava_plugins.envs.robocup import (
    ACTIONS,
    RoboCupError,
    goal_from_referee,
    observation_fields,
    parse_hear,
    parse_init,
    parse_see,
    parse_sense_body,
    parse_sexp,
    play_mode_category,
)

pytestmark = pytest.mark.timeout(60)


def _family():
    registry = Registry()
    robocup_plugin.mava_register(registry=PluginRegistry(registry, "robocup"))
    return registry.get("environment", "robocup")


@pytest.fixture
def server():
    with FakeRcssServer(goal_after_kicks=3) as fake:
        yield fake


def _make(server, task="1v1", **options):
    options = {"port": server.port, "timeout": 2.0, "synch_mode": True, **options}
    return _family().make(task, **options)


# ----------------------------------------------------------------------------- parsing
SENSE_BODY = (
    "(sense_body 0 (view_mode high normal) (stamina 7960.5 1 130600) (speed 0.42 -12) (head_angle 30) "
    "(kick 2) (dash 7) (turn 1) (say 0) (turn_neck 0) (catch 0) (move 1) (change_view 0) "
    "(arm (movable 0) (expires 0) (target 0 0) (count 0)) (focus (target none) (count 0)) "
    "(tackle (expires 0) (count 0)) (collision none) (foul (charged 0) (card none)) (focus_point 0 0))\x00"
)
SEE = (
    '(see 12 ((f c) 12.2 -20 0 0) ((f r t) 70.1 -34) ((g r) 45.6 -5) ((b) 3.3 10 -0 0) '
    '((p "HELIOS_base" 9) 20.1 -17 0 0 0 0) ((p "mava_left" 2 goalie) 7.4 33 0 0 0 0) ((p "opp") 33 -3) '
    '((p) 60.1 40) ((B) 0.9 170) ((P) 1.2 -150) ((l r) 50.2 -80))'
)


def test_parse_sexp_and_init():
    assert parse_sexp('(hear 5 referee goal_l_1)') == ["hear", "5", "referee", "goal_l_1"]
    assert parse_sexp('(a (b "x y" 2) ((c)))\x00') == ["a", ["b", '"x y"', "2"], [["c"]]]
    with pytest.raises(ValueError):
        parse_sexp("(a (b)")
    assert parse_init("(init l 1 before_kick_off)\x00") == ("l", 1, "before_kick_off")
    assert parse_init("(init r 11 play_on)") == ("r", 11, "play_on")
    with pytest.raises(RoboCupError, match="refused the player: no_more_team_or_player_or_goalie"):
        parse_init("(error no_more_team_or_player_or_goalie)")


def test_parse_sense_body():
    body = parse_sense_body(parse_sexp(SENSE_BODY))
    assert body["time"] == 0 and body["stamina"] == 7960.5 and body["effort"] == 1
    assert body["speed"] == pytest.approx(0.42) and body["speed_direction"] == -12
    assert body["head_angle"] == 30 and body["kick_count"] == 2 and body["dash_count"] == 7


def test_parse_see():
    seen = parse_see(parse_sexp(SEE))
    assert seen["time"] == 12
    assert seen["ball"] == (0.9, 170)  # the close ball behind the player is the latest ball entry
    assert seen["goals"] == {"r": (45.6, -5)}
    assert seen["players"] == [
        ("HELIOS_base", 9, 20.1, -17),
        ("mava_left", 2, 7.4, 33),
        ("opp", None, 33, -3),
        (None, None, 60.1, 40),
        (None, None, 1.2, -150),
    ]
    seen = parse_see(parse_sexp("(see 3 ((b) 3.3 10) ((g l) 40))"))  # a far goal: direction only
    assert seen["ball"] == (3.3, 10) and math.isnan(seen["goals"]["l"][0]) and seen["goals"]["l"][1] == 40


def test_parse_hear_and_play_modes():
    assert parse_hear(parse_sexp("(hear 102 referee goal_l_1)")) == (102, "referee", "goal_l_1")
    assert parse_hear(parse_sexp('(hear 7 -30 our 3 "pass")')) == (7, "-30", "pass")
    assert parse_hear(parse_sexp('(hear 7 self "hi")')) == (7, "self", "hi")
    assert goal_from_referee("goal_r_3") == ("r", 3) and goal_from_referee("goal_kick_l") is None
    assert play_mode_category("kick_off_l", "l") == "our_set_piece"
    assert play_mode_category("corner_kick_l", "r") == "their_set_piece"
    assert play_mode_category("offside_l", "l") == "their_set_piece"  # our offence: they restart
    assert play_mode_category("goal_kick_r", "r") == "our_set_piece"
    assert play_mode_category("goal_l", "r") == "goal"
    assert play_mode_category("play_on", "r") == "play_on"
    assert play_mode_category("time_over", "l") == "other"


# ----------------------------------------------------------------------------- against the fake server
def test_handshake_switches_to_the_player_port(server):
    env = _make(server, "2v2")
    try:
        timestep = env.reset()
        assert server.received_inits == [
            "(init mava_left (version 15))", "(init mava_left (version 15))",
            "(init mava_right (version 15))", "(init mava_right (version 15))",
        ]
        players = env._players
        assert [(p.side, p.unum) for p in players] == [("l", 1), ("l", 2), ("r", 1), ("r", 2)]
        assert all(p.server[1] != server.port for p in players)  # replies come from per-player ports
        assert len({p.server for p in players}) == 4
        assert env.play_mode == "kick_off_l"  # the server kicked off during reset(), after connect_wait cycles
        _check_timestep(env.multi_agent_spec(), timestep)
        moves = [server.commands_of(team, unum)[0] for team in ("mava_left", "mava_right") for unum in (1, 2)]
        assert moves == ["(move -5 -6)", "(move -13 6)", "(move -5 -6)", "(move -13 6)"]
    finally:
        env.close()


def test_observation_layout(server):
    env = _make(server, "1v1", nearest_players=2)
    try:
        obs = env.reset().observation["left_0"].observation
        fields = observation_fields(2)
        assert obs.shape == (len(fields),) == env.multi_agent_spec().agents["left_0"].observation.shape
        value = dict(zip(fields, obs.tolist()))
        assert value["stamina"] == pytest.approx(1.0)
        assert value["ball_seen"] == 1.0 and value["ball_distance"] == pytest.approx(10 / 125)
        assert value["ball_direction"] == pytest.approx(10 / 180)
        assert value["opponent_goal_seen"] == 1.0 and value["opponent_goal_direction"] == pytest.approx(-5 / 180)
        assert value["own_goal_distance"] == pytest.approx(60.3 / 125)
        assert value["player0_seen"] == 1.0 and value["player0_team"] == -1.0  # right_0, the nearest
        assert value["player0_distance"] == pytest.approx(18 / 125)
        assert value["player1_team"] == 0.0  # the unidentified far player
        assert value["play_mode_our_set_piece"] == 1.0 and sum(value[f"play_mode_{c}"] for c in robocup.PLAY_MODE_CATEGORIES) == 1
        assert value["score_own"] == value["score_opponent"] == value["episode_progress"] == 0.0
        right = dict(zip(fields, env.step({"left_0": 1, "right_0": 0}).observation["right_0"].observation.tolist()))
        assert right["player0_team"] == -1.0 and right["opponent_goal_direction"] == pytest.approx(-5 / 180)
        assert right["episode_progress"] == pytest.approx(1 / 300)
    finally:
        env.close()


def test_commands_sent_match_actions(server):
    env = _make(server, "1v1")
    try:
        env.reset()
        plan = [(1, 0), (4, 2), (6, 5), (9, 3), (0, 8)]
        for left, right in plan:
            timestep = env.step({"left_0": left, "right_0": right})
            assert timestep.mid()
        moves = ("(done)", "(move -5 0)")  # reset() repeats the move while the server has not kicked off
        left = server.commands_of("mava_left", 1, skip=moves)
        right = server.commands_of("mava_right", 1, skip=moves)
        assert left == ["(dash 100)", "(turn -45)", "(turn 10)", "(kick 100 -5)"]  # no-op sends nothing
        assert right == ["(dash 50)", "(turn 45)", "(dash -50)", "(kick 40 0)"]
        # one command (plus the synch-mode (done)) per player per cycle
        per_cycle = {}
        for cycle, team, unum, text in server.commands:
            if text.startswith("(move"):
                continue
            per_cycle.setdefault((cycle, team), []).append(text)
        assert all(len([t for t in texts if t != "(done)"]) <= 1 for texts in per_cycle.values())
        assert [entry["left_0"] for entry in env.commands_sent] == [
            "(dash 100)", "(turn -45)", "(turn 10)", "(kick 100 -5)", None,
        ]
    finally:
        env.close()


def test_conformance_and_cycle_limit(server):
    env = _make(server, "2v2", cycle_limit=6)
    try:
        trajectory = _run_episode(ContractCheckedEnvironment(env, name="robocup:2v2"))
        last = trajectory[-1]
        if env.metrics()["timeout"] == 1.0:
            assert len(trajectory) == 7 and set(last.discount.values()) == {1.0}
        else:  # random kicks scored first
            assert env.metrics()["goal"] == 1.0 and set(last.discount.values()) == {0.0}
        assert env.multi_agent_spec().homogeneous() is True
        assert env.get_state() is None
        _run_episode(env, seed=1)
    finally:
        env.close()


def test_without_synch_mode_the_server_clock_drives_steps():
    with FakeRcssServer(synch=False, cycle_seconds=0.01) as fake:
        env = _make(fake, "1v1", synch_mode=False, cycle_limit=3)
        try:
            trajectory = _run_episode(env)
            assert len(trajectory) == 4 and env.metrics()["timeout"] == 1.0
            assert not any(text == "(done)" for *_, text in fake.commands)
        finally:
            env.close()


def test_sockets_are_closed_and_bye_is_sent(server):
    env = _make(server, "2v2")
    env.reset()
    socks = [p.sock for p in env._players]
    env.close()
    assert all(s.fileno() == -1 for s in socks)
    deadline = time.monotonic() + 2
    while len(server.closed_players) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted((p.team, p.unum) for p in server.closed_players) == [
        ("mava_left", 1), ("mava_left", 2), ("mava_right", 1), ("mava_right", 2),
    ]
    env.close()  # twice is fine


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_server_error_message():
    port = _free_port()
    env = _family().make("2v2", port=port, timeout=0.3)
    with pytest.raises(RoboCupError) as error:
        env.reset()
    message = str(error.value)
    assert message.startswith(f"no rcssserver answered at 127.0.0.1:{port} within 0.3 s; start one with `rcssserver`")
    assert "see docs/environments/robocup.md" in message
    assert all(p.sock is None for p in env._players)  # nothing left open


def test_silent_server_times_out():
    with FakeRcssServer(answer_init=False) as fake:
        env = _make(fake, "1v1", timeout=0.6)
        with pytest.raises(RoboCupError, match=rf"no rcssserver answered at 127.0.0.1:{fake.port} within 0.6 s"):
            env.reset()
        assert len(fake.received_inits) >= 2  # init is resent while waiting
        assert all(p.sock is None for p in env._players)


def test_third_team_is_refused(server):
    first = _make(server, "1v1")
    other = _make(server, "1v1", left_team="third", right_team="fourth")
    try:
        first.reset()
        with pytest.raises(RoboCupError, match="no_more_team_or_player_or_goalie"):
            other.reset()
    finally:
        first.close()
        other.close()


def test_options_are_checked():
    family = _family()
    cases = [
        ({"bogus": 1}, "env.bogus", "unknown option for robocup:1v1; valid options: server, server_args, host, port"),
        ({"server": "yes"}, "env.server", "must be 'external' (a server at env.host:env.port) or 'auto'"),
        ({"server_args": "server::half_time=3"}, "env.server_args", "only applies with env.server=auto"),
        ({"kick_off_timeout": -1}, "env.kick_off_timeout", "must be positive"),
        ({"trainer_port": -1}, "env.trainer_port", "must be an integer between 0 and 65535"),
        ({"ball_distance_reward": "x"}, "env.ball_distance_reward", "must be a number"),
        ({"ball_to_goal_reward": float("nan")}, "env.ball_to_goal_reward", "must be a number"),
        ({"port": 70000}, "env.port", "must be an integer between 1 and 65535"),
        ({"port": "6000"}, "env.port", "must be an integer"),
        ({"timeout": 0}, "env.timeout", "must be positive"),
        ({"cycle_limit": 0}, "env.cycle_limit", "must be an integer >= 1"),
        ({"synch_mode": "on"}, "env.synch_mode", "must be true or false"),
        ({"start": "centre"}, "env.start", "must be 'kick_off' (formation facing the ball) or 'random'"),
        ({"start": "random"}, "env.start", "'random' needs a trainer to place the players"),
        ({"goal_reward": "big"}, "env.goal_reward", "must be a number"),
        ({"left_team": "has space"}, "env.left_team", "must be 1-15 letters"),
        ({"right_team": "mava_left"}, "env.right_team", "must differ from env.left_team"),
    ]
    for options, key, message in cases:
        with pytest.raises(ConfigError) as info:
            family.make("1v1", **options)
        assert info.value.key == key and message in str(info.value), str(info.value)
    with pytest.raises(UnknownNameError, match="1v1, 2v2, 3v3"):
        family.make("11v11")
    env = family.make("3v3", nearest_players=0)
    assert env.multi_agent_spec().agent_ids == ["left_0", "left_1", "left_2", "right_0", "right_1", "right_2"]
    assert env.multi_agent_spec().agents["left_0"].num_actions == len(ACTIONS)
    assert np.asarray(env.multi_agent_spec().agents["left_0"].observation.shape).item() == len(observation_fields(0))

