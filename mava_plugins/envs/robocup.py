"""The ``robocup`` environment family: RoboCup 2D soccer players talking to an rcssserver over UDP.

``robocup:NvN`` (``1v1``, ``2v2``, ``3v3``) connects ``N`` players for each of two teams
(agents ``left_0 .. left_{N-1}`` and ``right_0 ..``; weights are shared per team) to an
rcssserver: one at ``host:port`` (default ``127.0.0.1:6000``), or with ``server="auto"`` one
the environment starts itself on free ports (:mod:`mava_plugins.envs.robocup_server`). The
protocol is the server's player protocol, version 15 (:mod:`mava_plugins.envs.robocup_protocol`):

* each player sends ``(init TEAM (version 15))`` to ``host:port``, reads ``(init SIDE UNUM
  PLAYMODE)`` and from then on talks to the port that reply came from;
* ``sense_body``, ``see`` and ``hear`` messages are parsed into a fixed-size observation
  vector per agent (layout in :data:`OBSERVATION_FIELDS`);
* one command per agent per server cycle, from a discrete action (table in :data:`ACTIONS`);
  a step sends the commands and waits until every player has received the next
  ``sense_body`` — a new message, whatever time it carries: the server's clock stands still
  in ``before_kick_off``, after a goal and at ``time_over`` (with ``synch_mode=True`` each
  player also sends ``(done)``, for a server started with ``server::synch_mode=true``);
* ``reset()`` with a trainer (:mod:`mava_plugins.envs.robocup_trainer`; always with
  ``server="auto"``, else when ``trainer_port`` is set) kicks off at once and puts the ball
  and the players back in a kick-off formation in ``play_on``; without one it moves the
  players with their own ``(move)`` and lets the cycles in which nothing can happen pass
  (``before_kick_off`` until the server kicks off, the 50 cycles after a goal), so an episode
  starts at a kick-off or in play;
* play mode and score come from the referee's ``hear`` messages; the reward of a team is
  ``goal_reward * (goals scored - goals conceded)`` during the step plus the optional shaped
  terms (``ball_distance_reward``, ``ball_to_goal_reward``), shared by its players; an
  episode ends on a goal or at ``time_over`` (termination, discount 0) or after
  ``cycle_limit`` cycles (truncation, discount 1). After ``time_over`` (a server in
  auto_mode then exits) or a server that went away between episodes, the next ``reset()``
  connects again (starting a new server with ``server="auto"``);
* ``close()`` sends ``(bye)`` for every player, closes the sockets and stops a server it started.

Only the standard library's ``socket`` and ``select`` are used. See
``docs/environments/robocup.md`` for building and starting rcssserver.
"""
from __future__ import annotations

import math
import re
import select
import socket
import time
from typing import Any, Dict, List, Optional, Tuple

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError, MavaError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_plugins.envs.options import reject_unknown_options
from mava_plugins.envs.robocup_protocol import (  # noqa: F401  (re-exported: the family's public names)
    PLAY_MODE_CATEGORIES,
    RoboCupError,
    _format_number,
    goal_from_referee,
    parse_hear,
    parse_init,
    parse_see,
    parse_sense_body,
    parse_sexp,
    play_mode_category,
    replies_to,
)
from mava_plugins.envs.robocup_server import RcssServerProcess
from mava_plugins.envs.robocup_trainer import Trainer
from mava_plugins.envs.task_table import TaskTableFamily

FAMILY = "robocup"
DEFAULT_TASK = "1v1"
DOCS = "docs/environments/robocup.md"
PROTOCOL_VERSION = 15

#: task -> players per team
TASKS: Dict[str, int] = {"1v1": 1, "2v2": 2, "3v3": 3}

#: options of every task and their defaults
DEFAULT_OPTIONS: Dict[str, Any] = {
    "server": "external",
    "server_args": "",
    "host": "127.0.0.1",
    "port": 6000,
    "trainer_port": 0,
    "timeout": 5.0,
    "kick_off_timeout": 60.0,
    "cycle_limit": 300,
    "start": "kick_off",
    "goal_reward": 1.0,
    "ball_distance_reward": 0.0,
    "ball_to_goal_reward": 0.0,
    "nearest_players": 3,
    "synch_mode": False,
    "left_team": "mava_left",
    "right_team": "mava_right",
}

# Normalisers (rcssserver's defaults: stamina_max 8000, field 105 x 68, player_speed_max 1.05).
STAMINA_MAX = 8000.0
MAX_DISTANCE = 125.0
MAX_SPEED = 1.05
KICKABLE_DISTANCE = 1.085  # kickable_margin 0.7 + player_size 0.3 + ball_size 0.085

#: play modes in which nothing can happen: reset() lets them pass (rcssserver's clock stands still)
DEAD_PLAY_MODES = ("before_kick_off", "goal_l", "goal_r")

#: seconds to wait, after a cycle's ``sense_body``, for that cycle's ``see``
SEE_GRACE_SECONDS = 0.05

#: discrete actions: (name, command template). ``None`` sends nothing; ``{ball}`` and
#: ``{goal}`` are the body-relative directions of the ball and the opponent goal as last seen.
ACTIONS: Tuple[Tuple[str, Optional[str]], ...] = (
    ("no-op", None),
    ("dash 100", "(dash 100)"),
    ("dash 50", "(dash 50)"),
    ("dash -50 (backwards)", "(dash -50)"),
    ("turn -45", "(turn -45)"),
    ("turn 45", "(turn 45)"),
    ("turn to the ball (turn 60 when it was never seen)", "(turn {ball})"),
    ("kick 100 straight", "(kick 100 0)"),
    ("kick 40 straight (dribble)", "(kick 40 0)"),
    ("shoot: kick 100 towards the opponent goal (straight when it was never seen)", "(kick 100 {goal})"),
)


def observation_fields(nearest_players: int) -> List[str]:
    """Names of the observation vector's entries, in order."""
    fields = [
        "stamina", "speed", "speed_direction", "head_angle",
        "ball_seen", "ball_distance", "ball_direction", "ball_kickable",
        "opponent_goal_seen", "opponent_goal_distance", "opponent_goal_direction",
        "own_goal_seen", "own_goal_distance", "own_goal_direction",
    ]
    for k in range(nearest_players):
        fields += [f"player{k}_seen", f"player{k}_distance", f"player{k}_direction", f"player{k}_team"]
    fields += [f"play_mode_{name}" for name in PLAY_MODE_CATEGORIES]
    fields += ["score_own", "score_opponent", "episode_progress"]
    return fields


OBSERVATION_FIELDS = observation_fields(DEFAULT_OPTIONS["nearest_players"])


def ball_to_goal_distance(see: Dict[str, Any], goal: str) -> Optional[float]:
    """Metres from the ball to goal ``goal`` (``l``/``r``) by the law of cosines on one ``see``,
    or None when the ball or that goal (with its distance) was not seen."""
    ball, target = see.get("ball"), see.get("goals", {}).get(goal)
    if ball is None or target is None or math.isnan(ball[0]) or math.isnan(target[0]):
        return None
    angle = math.radians(ball[1] - target[1])
    return math.sqrt(max(0.0, ball[0] ** 2 + target[0] ** 2 - 2.0 * ball[0] * target[0] * math.cos(angle)))


# ----------------------------------------------------------------------------- players
class _Player:
    """One connected player: its socket, server address and the latest parsed messages."""

    def __init__(self, agent_id: str, team: str, expected_side: str):
        self.agent_id = agent_id
        self.team = team
        self.expected_side = expected_side
        self.side = expected_side
        self.unum = 0
        self.sock: Optional[socket.socket] = None
        self.server: Optional[Tuple[str, int]] = None
        self.body: Dict[str, float] = {}
        self.see: Dict[str, Any] = {"ball": None, "goals": {}, "players": []}
        self.bodies = 0  # sense_body messages received (the server's time may stand still)
        self.thinks = 0  # (think) messages: in synch mode the last message of a cycle
        self.sees = 0
        self.sees_at_body = 0  # ``sees`` when the latest sense_body came
        self.ball_direction: Optional[float] = None  # body-relative, as last seen
        self.goal_direction: Optional[float] = None
        # shaped rewards: the previous step's measurements (None: not seen that step)
        self.sees_at_step = 0
        self.ball_distance: Optional[float] = None
        self.ball_goal_distance: Optional[float] = None

    @property
    def opponent_goal(self) -> str:
        return "r" if self.side == "l" else "l"

    def body_relative(self, direction: float) -> float:
        return _wrap_angle(direction + self.body.get("head_angle", 0.0))


def _wrap_angle(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def _mirrored_direction(direction: float) -> float:
    """A right-team direction (its own coordinates) in global coordinates, in (-180, 180]."""
    mirrored = direction + 180.0
    return mirrored - 360.0 if mirrored > 180.0 else mirrored


class RoboCupEnvironment(MultiAgentEnvironment):
    """Two teams of ``players_per_team`` players on an rcssserver; see the module docstring."""

    def __init__(
        self,
        players_per_team: int = 1,
        seed: int = 0,
        server: str = "external",
        server_args: str = "",
        host: str = "127.0.0.1",
        port: int = 6000,
        trainer_port: int = 0,
        timeout: float = 5.0,
        kick_off_timeout: float = 60.0,
        cycle_limit: int = 300,
        start: str = "kick_off",
        goal_reward: float = 1.0,
        ball_distance_reward: float = 0.0,
        ball_to_goal_reward: float = 0.0,
        nearest_players: int = 3,
        synch_mode: bool = False,
        left_team: str = "mava_left",
        right_team: str = "mava_right",
        name: str = FAMILY,
    ):
        self._seed = int(seed)  # the server owns the match's randomness (rcssserver 19 cannot be seeded)
        self._start = start
        self._start_rng = np.random.default_rng(self._seed)  # random starts (start="random")
        self._auto_server = server == "auto"
        self._server_args = server_args
        self._server_process: Optional[RcssServerProcess] = None
        self._servers_started = 0
        self._host, self._port, self._timeout = host, int(port), float(timeout)
        self._trainer_port = int(trainer_port)
        self._trainer: Optional[Trainer] = None
        self._kick_off_timeout = float(kick_off_timeout)
        self._cycle_limit = int(cycle_limit)
        self._goal_reward = float(goal_reward)
        self._ball_distance_reward = float(ball_distance_reward)
        self._ball_to_goal_reward = float(ball_to_goal_reward)
        self._k = int(nearest_players)
        self._synch = bool(synch_mode)
        self._name = name
        self._teams = {"l": left_team, "r": right_team}
        self._players: List[_Player] = [
            _Player(f"{label}_{i}", self._teams[side], side)
            for side, label in (("l", "left"), ("r", "right"))
            for i in range(players_per_team)
        ]
        self._agent_ids = [p.agent_id for p in self._players]
        self._n_actions = len(ACTIONS)
        obs_size = len(observation_fields(self._k))
        self._spec = MultiAgentSpec(
            agents={
                aid: AgentSpec(
                    observation=specs.Array((obs_size,), np.float32, f"{aid}_observation"),
                    action=specs.DiscreteArray(self._n_actions, dtype=np.int32, name=f"{aid}_action"),
                )
                for aid in self._agent_ids
            },
            state=None,
            has_action_masks=False,
        )
        self._mask = np.ones((self._n_actions,), np.float32)
        self._mask.flags.writeable = False
        self._connected = False
        self._play_mode = "before_kick_off"
        self._score = {"l": 0, "r": 0}
        self._episode_start_score = {"l": 0, "r": 0}
        self._episode_cycles = 0
        self._reset_next_step = True
        self._metrics: Dict[str, float] = {}
        self.dead_cycles = 0  # cycles reset() let pass in DEAD_PLAY_MODES, over the environment's life
        self.connections = 0  # times the players (re)connected
        self.idle_restarts = 0  # episodes truncated because an auto-started server gave up waiting
        self.commands_sent: List[Dict[str, Optional[str]]] = []  # per step: agent -> command

    # ------------------------------------------------------------------ connection
    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    @property
    def server_process(self) -> Optional[RcssServerProcess]:
        """The server this environment started (``server="auto"``), if any."""
        return self._server_process

    def _server_state(self) -> str:
        if self._server_process is None:
            return ""
        return f" (the rcssserver this environment started {self._server_process.describe_exit()})"

    def _no_server(self, detail: str) -> RoboCupError:
        return RoboCupError(
            f"no rcssserver answered at {self.address} within {self._timeout:g} s; "
            f"start one with `rcssserver` or use env.server=auto — see {DOCS} ({detail}){self._server_state()}"
        )

    def _lost(self, detail: str) -> RoboCupError:
        return RoboCupError(f"{self._name}: lost the rcssserver at {self.address}: {detail}{self._server_state()}")

    def _start_server(self) -> None:
        if self._server_process is not None:
            self._server_process.stop()
        self._server_process = RcssServerProcess(synch_mode=self._synch, extra_args=self._server_args, host=self._host)
        self._servers_started += 1
        self._port = self._server_process.port

    def _connect(self) -> None:
        self._close_sockets()
        if self._auto_server:
            self._start_server()
        try:
            for player in self._players:
                self._init_player(player)
            trainer_port = self._server_process.coach_port if self._server_process is not None else self._trainer_port
            if trainer_port:
                self._trainer = Trainer(self._host, trainer_port, self._timeout)
                self._trainer.connect()
        except BaseException:
            self._close_sockets()
            raise
        self._connected = True
        self.connections += 1
        self._score = {"l": 0, "r": 0}

    def _init_player(self, player: _Player) -> None:
        """Connect ``player``; a server whose match has ended is left and joined again until the deadline."""
        deadline = time.monotonic() + self._timeout
        while not self._init_over_new_socket(player, deadline):
            time.sleep(max(0.0, min(0.5, deadline - time.monotonic())))  # give the ended match time to go
            if time.monotonic() >= deadline:
                raise self._no_server("no reply to init")

    def _init_over_new_socket(self, player: _Player, deadline: float) -> bool:
        """Send ``player``'s init from a new socket: True once placed, False if the server's match had ended."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        player.sock = sock
        message = f"(init {player.team} (version {PROTOCOL_VERSION}))"
        try:
            for text, address in replies_to(sock, (self._host, self._port), message, deadline):
                if not text.startswith(("(init", "(error")):
                    continue
                side, unum, mode = parse_init(text)
                if mode == "time_over":  # a server whose match has ended and that has not exited yet
                    sock.sendto(b"(bye)\x00", address)
                    sock.close()
                    return False
                if side != player.expected_side:
                    raise RoboCupError(
                        f"rcssserver at {self.address} put team {player.team!r} on side {side!r}, not "
                        f"{player.expected_side!r}: another team is already connected; restart the server"
                    )
                # a connected socket reports a server that went away (ECONNREFUSED) instead of going quiet
                sock.connect(address)
                player.side, player.unum, player.server = side, unum, address
                player.bodies = player.thinks = player.sees = player.sees_at_body = player.sees_at_step = 0
                self._play_mode = mode
                return True
        except OSError as error:
            raise self._no_server(str(error)) from None
        raise self._no_server("no reply to init")

    def _send(self, player: _Player, command: str) -> None:
        assert player.sock is not None
        try:
            player.sock.send(command.encode() + b"\x00")
        except OSError as error:
            raise self._lost(f"sending failed ({error})") from None

    def _wait_for_cycle(self) -> None:
        """Read messages until every player has received a new ``sense_body``.

        A new message counts, not a later time: the server's clock stands still in
        ``before_kick_off``, after a goal and at ``time_over`` while cycles go on. In synch
        mode, wait also for the cycle's ``(think)``, which the server sends after the cycle's
        ``sense_body`` and ``see``. Otherwise wait up to :data:`SEE_GRACE_SECONDS` for each
        player's ``see`` of that cycle (sent just after ``sense_body``), so an observation never
        mixes a new body with the previous cycle's view depending on timing; a cycle without a
        ``see`` (one comes every 150 ms) costs only the grace.
        """
        waiting = {p.sock: p for p in self._players if p.sock is not None}
        before = {p.agent_id: (p.bodies, p.thinks) for p in self._players}
        deadline = time.monotonic() + self._timeout
        see_deadline = None
        while True:
            pending = [
                p for p in self._players
                if p.bodies <= before[p.agent_id][0] or (self._synch and p.thinks <= before[p.agent_id][1])
            ]
            if not pending and self._synch:
                return
            if not pending:
                unseen = [p for p in self._players if p.sees <= p.sees_at_body]
                if not unseen:
                    return
                see_deadline = see_deadline or time.monotonic() + SEE_GRACE_SECONDS
                if time.monotonic() >= see_deadline:
                    return
                ready, _, _ = select.select([p.sock for p in unseen], [], [], see_deadline - time.monotonic())
                self._read(ready, waiting)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                names = ", ".join(p.agent_id for p in pending)
                raise RoboCupError(
                    f"{self._name}: rcssserver at {self.address} sent no sense_body to {names} within "
                    f"{self._timeout:g} s; is it still running (with server::synch_mode matching "
                    f"env.synch_mode={str(self._synch).lower()})? See {DOCS}{self._server_state()}"
                )
            ready, _, _ = select.select(list(waiting), [], [], remaining)
            self._read(ready, waiting)

    def _drain(self) -> None:
        """Handle every message already queued (without waiting), so a step acts on the latest state."""
        waiting = {p.sock: p for p in self._players if p.sock is not None}
        ready, _, _ = select.select(list(waiting), [], [], 0)
        self._read(ready, waiting)

    def _read(self, ready: List[socket.socket], players: Dict[socket.socket, _Player]) -> None:
        """Handle every message already queued on the ``ready`` sockets."""
        for sock in ready:
            player = players[sock]
            while True:
                try:
                    data = sock.recv(65536, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionRefusedError:
                    raise self._lost("its port refuses messages (the server exited or restarted)") from None
                self._handle(player, data.decode("latin-1"))

    def _handle(self, player: _Player, text: str) -> None:
        text = text.rstrip("\x00").strip()
        if text.startswith("(think"):
            player.thinks += 1
            return
        if not text.startswith(("(sense_body", "(see", "(hear")):
            return  # server_param, player_param, player_type, think, ok, warning, ...
        try:
            tree = parse_sexp(text)
        except ValueError:
            return
        kind = tree[0]
        if kind == "sense_body":
            player.body = parse_sense_body(tree)
            player.bodies += 1
            player.sees_at_body = player.sees
        elif kind == "see":
            player.see = parse_see(tree)
            player.sees += 1
            if player.see["ball"] is not None:
                player.ball_direction = player.body_relative(player.see["ball"][1])
            if player.opponent_goal in player.see["goals"]:
                player.goal_direction = player.body_relative(player.see["goals"][player.opponent_goal][1])
        elif kind == "hear":
            _, sender, message = parse_hear(tree)
            if sender != "referee":
                return
            goal = goal_from_referee(message)
            if goal is not None:
                side, score = goal
                self._score[side] = max(self._score[side], score)
                self._play_mode = f"goal_{side}"
            elif message in ("half_time", "time_up", "time_extended", "time_up_without_a_team"):
                return  # announcements; the play mode that follows comes in its own message
            else:
                self._play_mode = message

    # ------------------------------------------------------------------ observations
    def _observation(self, player: _Player) -> np.ndarray:
        side = player.side
        body, see = player.body, player.see
        obs: List[float] = [
            body.get("stamina", STAMINA_MAX) / STAMINA_MAX,
            min(body.get("speed", 0.0) / MAX_SPEED, 2.0),
            body.get("speed_direction", 0.0) / 180.0,
            body.get("head_angle", 0.0) / 180.0,
        ]

        def polar(value: Optional[Tuple[float, float]]) -> List[float]:
            if value is None:
                return [0.0, 0.0, 0.0]
            distance, direction = value
            distance = MAX_DISTANCE if math.isnan(distance) else distance
            return [1.0, min(distance / MAX_DISTANCE, 1.0), _wrap_angle(direction) / 180.0]

        obs += polar(see["ball"])
        # 1 m is 0.008 of a normalised distance: a flag tells the networks when a kick can work
        ball_distance = see["ball"][0] if see["ball"] is not None else math.nan
        obs.append(float(ball_distance < KICKABLE_DISTANCE))
        obs += polar(see["goals"].get(player.opponent_goal))
        obs += polar(see["goals"].get(side))
        players = sorted(see["players"], key=lambda p: MAX_DISTANCE if math.isnan(p[2]) else p[2])
        for k in range(self._k):
            if k < len(players):
                team, _, distance, direction = players[k]
                relation = 0.0 if team is None else (1.0 if team == player.team else -1.0)
                obs += polar((distance, direction)) + [relation]
            else:
                obs += [0.0, 0.0, 0.0, 0.0]
        category = play_mode_category(self._play_mode, side)
        obs += [float(category == c) for c in PLAY_MODE_CATEGORIES]
        other = "r" if side == "l" else "l"
        obs += [self._score[side] / 10.0, self._score[other] / 10.0, self._episode_cycles / self._cycle_limit]
        array = np.asarray(obs, dtype=np.float32)
        return np.nan_to_num(array, nan=0.0, posinf=1.0, neginf=-1.0)

    def _observations(self) -> Dict[str, AgentObservation]:
        return {p.agent_id: AgentObservation(self._observation(p), self._mask) for p in self._players}

    def command(self, player: _Player, action: int) -> Optional[str]:
        """The server command for one agent's discrete action (None: send nothing)."""
        template = ACTIONS[action][1]
        if template is None:
            return None
        ball = player.ball_direction if player.ball_direction is not None else 60.0
        goal = player.goal_direction if player.goal_direction is not None else 0.0
        return template.format(ball=_format_number(ball), goal=_format_number(goal))

    # ------------------------------------------------------------------ shaped rewards
    def _measure(self, player: _Player) -> Tuple[Optional[float], Optional[float]]:
        """This step's (ball distance, ball-to-opponent-goal distance) from a fresh ``see``, else Nones."""
        if player.sees <= player.sees_at_step or player.see["ball"] is None:
            return None, None
        distance = player.see["ball"][0]
        return (None if math.isnan(distance) else distance), ball_to_goal_distance(player.see, player.opponent_goal)

    def _start_measurements(self) -> None:
        for player in self._players:
            player.ball_distance, player.ball_goal_distance = self._measure(player)
            player.sees_at_step = player.sees

    def _shaped_rewards(self) -> Dict[str, float]:
        """Per side: ``ball_distance_reward`` x the metres its players closed on the ball, plus
        ``ball_to_goal_reward`` x the metres the ball moved towards the opponent goal, each
        averaged over the team's players that measured it in this step. A measurement is taken
        against the player's previous one, however many steps ago (``see`` comes every 1.5
        cycles and the ball leaves the view), so over an episode the rewards add up to the
        distance between the first measurement and the last."""
        progress: Dict[str, Dict[str, List[float]]] = {"l": {"ball": [], "goal": []}, "r": {"ball": [], "goal": []}}
        for player in self._players:
            ball, goal = self._measure(player)
            if ball is not None and player.ball_distance is not None:
                progress[player.side]["ball"].append(player.ball_distance - ball)
            if goal is not None and player.ball_goal_distance is not None:
                progress[player.side]["goal"].append(player.ball_goal_distance - goal)
            if ball is not None:
                player.ball_distance = ball
            if goal is not None:
                player.ball_goal_distance = goal
            player.sees_at_step = player.sees
        return {
            side: self._ball_distance_reward * float(np.mean(parts["ball"]) if parts["ball"] else 0.0)
            + self._ball_to_goal_reward * float(np.mean(parts["goal"]) if parts["goal"] else 0.0)
            for side, parts in progress.items()
        }

    # ------------------------------------------------------------------ dm_env API
    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def _needs_new_server(self) -> bool:
        if not self._connected or self._play_mode == "time_over":
            return True
        if self._server_process is not None and not self._server_process.alive():
            return True
        try:
            self._drain()
        except RoboCupError:  # the server went away or restarted between episodes
            return True
        return False

    def _formation(self) -> List[Tuple[float, float]]:
        """Each player's own-half kick-off position, in its team's coordinates (attacking +x)."""
        count = len(self._players) // 2
        return [
            (-5.0 - 8.0 * (position % count), ((position % count) - (count - 1) / 2.0) * 12.0)
            for position in range(len(self._players))
        ]

    def _start_positions(self) -> List[Tuple[float, float, float]]:
        """Each player's (x, y, body direction) in its team's coordinates (attacking +x, direction
        0 towards the opponents): the kick-off formation facing the ball, or with
        ``start="random"`` a random own-half spot 3-20 m behind the centre line, facing anywhere."""
        if self._start == "random":
            rng = self._start_rng
            return [
                (float(rng.uniform(-20.0, -3.0)), float(rng.uniform(-15.0, 15.0)), float(rng.uniform(-180.0, 180.0)))
                for _ in self._players
            ]
        return [(x, y, 0.0) for x, y in self._formation()]

    def _formation_moves(self) -> Dict[str, str]:
        # a player's (move) is in its team's coordinates: the server mirrors the right team's
        return {
            player.agent_id: f"(move {_format_number(x)} {_format_number(y)})"
            for player, (x, y) in zip(self._players, self._formation())
        }

    def _start_episode(self) -> None:
        if self._trainer is not None:
            self._trainer_reset()
        else:
            self._wait_for_kick_off()

    def _trainer_reset(self) -> None:
        """Put the ball on the centre spot and the players in formation, at rest with full
        stamina, and play on: every episode starts alike, without frozen cycles."""
        assert self._trainer is not None
        commands = ["(start)"] if self._play_mode == "before_kick_off" else []  # kick off now
        commands.append("(move (ball) 0 0)")
        for player, (x, y, direction) in zip(self._players, self._start_positions()):
            # global coordinates: the left team attacks towards +x, the right team is mirrored
            gx, gy, direction = (x, y, direction) if player.side == "l" else (-x, -y, _mirrored_direction(direction))
            commands.append(
                f"(move (player {player.team} {player.unum}) {_format_number(gx)} {_format_number(gy)} "
                f"{_format_number(direction)} 0 0)"
            )
        commands += ["(recover)", "(change_mode play_on)"]
        self._trainer.commands(commands)
        self._drain()
        # every player's first observation shows the new formation: wait (up to 3 cycles: a see
        # comes every 1.5) until each has a see sent after the moves, not one from before them
        sees_before = {p.agent_id: p.sees for p in self._players}
        for _ in range(3):
            for player in self._players:
                if self._synch:
                    self._send(player, "(done)")
            self._wait_for_cycle()
            if all(p.sees > sees_before[p.agent_id] for p in self._players):
                break

    def reset(self) -> dm_env.TimeStep:
        reconnected = self._needs_new_server()
        if reconnected:
            self._connect()
        try:
            self._start_episode()
        except RoboCupError:
            if reconnected:
                raise
            self._connect()  # the server went away or was restarted since the last episode
            self._start_episode()
        self._episode_start_score = dict(self._score)
        self._episode_cycles = 0
        self._reset_next_step = False
        self._metrics = {}
        self._start_measurements()
        return first_timestep(self._spec, self._observations())

    def _wait_for_kick_off(self) -> None:
        """Without a trainer: move the players to formation and let the frozen cycles pass."""
        moves = self._formation_moves()
        deadline = time.monotonic() + self._kick_off_timeout
        first = True
        while True:
            self._drain()
            for player in self._players:
                if first or self._play_mode in DEAD_PLAY_MODES:  # (move) only works in these modes
                    self._send(player, moves[player.agent_id])
                if self._synch:
                    self._send(player, "(done)")
            self._wait_for_cycle()
            first = False
            if self._play_mode not in DEAD_PLAY_MODES:
                break
            self.dead_cycles += 1
            if time.monotonic() >= deadline:
                raise RoboCupError(
                    f"{self._name}: rcssserver at {self.address} stayed in {self._play_mode} for "
                    f"{self._kick_off_timeout:g} s (env.kick_off_timeout); start it with server::auto_mode=true "
                    f"and a small server::connect_wait, or use env.server=auto — see {DOCS}"
                )

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        sent: Dict[str, Optional[str]] = {}
        for player in self._players:
            if player.agent_id not in actions:
                raise MavaError(f"{self._name}: no action for agent {player.agent_id!r}; every agent acts at every step")
            action = int(actions[player.agent_id])
            if not 0 <= action < self._n_actions:
                raise MavaError(f"{self._name}: agent {player.agent_id!r}: action {action} is not in [0, {self._n_actions})")
            sent[player.agent_id] = self.command(player, action)
        self.commands_sent.append(sent)
        score_before = dict(self._score)
        try:
            self._drain()  # act on the latest messages (non-synch servers keep sending while we think)
            score_before = dict(self._score)
            for player in self._players:
                if sent[player.agent_id] is not None:
                    self._send(player, sent[player.agent_id])
                if self._synch:
                    self._send(player, "(done)")
            self._wait_for_cycle()
        except RoboCupError:
            if self._server_process is None or not self._server_process.exited_idle():
                raise
            return self._truncate_after_idle_exit()
        self._episode_cycles += 1
        gained = {side: self._score[side] - score_before[side] for side in ("l", "r")}
        shaped = self._shaped_rewards()
        team_reward = {
            "l": self._goal_reward * (gained["l"] - gained["r"]) + shaped["l"],
            "r": self._goal_reward * (gained["r"] - gained["l"]) + shaped["r"],
        }
        goal = gained["l"] > 0 or gained["r"] > 0
        time_over = self._play_mode == "time_over"
        truncated = not goal and not time_over and self._episode_cycles >= self._cycle_limit
        last = goal or time_over or truncated
        discount = 1.0 if (truncated or not last) else 0.0
        if last:
            scored = {side: self._score[side] - self._episode_start_score[side] for side in ("l", "r")}
            self._metrics = {
                "goal": float(goal),
                "left_goals": float(scored["l"]),
                "right_goals": float(scored["r"]),
                "timeout": float(truncated),
                "time_over": float(time_over),
            }
        self._reset_next_step = last
        observations = self._observations()
        if time_over:  # the match is over: leave it (a server in auto_mode exits once nobody plays)
            self._leave()
        return next_timestep(
            observations,
            {p.agent_id: team_reward[p.side] for p in self._players},
            {p.agent_id: discount for p in self._players},
            last,
        )

    def _truncate_after_idle_exit(self) -> dm_env.TimeStep:
        """The server this environment started gave up on it (synch mode, about 25 s without a
        step: an executor's environment while the evaluator plays, say): end the episode as a
        truncation (discount 1); the next reset() starts a new server."""
        self._leave()
        self._reset_next_step = True
        self.idle_restarts += 1
        scored = {side: self._score[side] - self._episode_start_score[side] for side in ("l", "r")}
        self._metrics = {
            "goal": 0.0, "left_goals": float(scored["l"]), "right_goals": float(scored["r"]),
            "timeout": 1.0, "time_over": 0.0,
        }
        return next_timestep(
            self._observations(),
            {p.agent_id: 0.0 for p in self._players},
            {p.agent_id: 1.0 for p in self._players},
            True,
        )

    def metrics(self) -> Dict[str, float]:
        return dict(self._metrics)

    @property
    def play_mode(self) -> str:
        return self._play_mode

    @property
    def score(self) -> Dict[str, int]:
        return dict(self._score)

    def _close_sockets(self) -> None:
        if self._trainer is not None:
            self._trainer.close()
            self._trainer = None
        for player in self._players:
            if player.sock is not None:
                try:
                    player.sock.close()
                except OSError:
                    pass
                player.sock = None
            player.server = None
        self._connected = False

    def _leave(self) -> None:
        """Say ``(bye)`` for every connected player and close its socket."""
        for player in self._players:
            if player.sock is not None and player.server is not None:
                try:
                    player.sock.send(b"(bye)\x00")
                except OSError:
                    pass
        self._close_sockets()

    def close(self) -> None:
        """Say ``(bye)`` for every connected player, close its socket and stop a server this
        environment started (safe to call twice)."""
        self._leave()
        if self._server_process is not None:
            self._server_process.stop()
            self._server_process = None
        self._reset_next_step = True

    def __del__(self):  # a forgotten environment still releases its sockets and server
        try:
            self._close_sockets()
            if self._server_process is not None:
                self._server_process.stop()
        except Exception:
            pass


# ----------------------------------------------------------------------------- family
def _check_options(task: str, options: Dict[str, Any]) -> Dict[str, Any]:
    reject_unknown_options(f"{FAMILY}:{task}", options, DEFAULT_OPTIONS)
    checked = {**DEFAULT_OPTIONS, **options}

    def integer(key: str, low: int, high: Optional[int] = None) -> None:
        value = checked[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ConfigError(f"env.{key}", f"must be an integer {bounds}, got {value!r}")
        checked[key] = int(value)

    integer("port", 1, 65535)
    integer("trainer_port", 0, 65535)
    integer("cycle_limit", 1)
    integer("nearest_players", 0, 21)
    for key in ("timeout", "kick_off_timeout", "goal_reward", "ball_distance_reward", "ball_to_goal_reward"):
        value = checked[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            raise ConfigError(f"env.{key}", f"must be a number, got {value!r}")
        checked[key] = float(value)
    for key in ("timeout", "kick_off_timeout"):
        if checked[key] <= 0:
            raise ConfigError(f"env.{key}", f"must be positive (seconds), got {checked[key]!r}")
    if checked["server"] not in ("external", "auto"):
        raise ConfigError("env.server", f"must be 'external' (a server at env.host:env.port) or 'auto' (start one), got {checked['server']!r}")
    if not isinstance(checked["server_args"], str):
        raise ConfigError("env.server_args", f"must be a string of rcssserver options, got {checked['server_args']!r}")
    if checked["server_args"] and checked["server"] != "auto":
        raise ConfigError("env.server_args", "only applies with env.server=auto (the environment starts the server)")
    if checked["start"] not in ("kick_off", "random"):
        raise ConfigError("env.start", f"must be 'kick_off' (formation facing the ball) or 'random', got {checked['start']!r}")
    if checked["start"] == "random" and checked["server"] != "auto" and not checked["trainer_port"]:
        raise ConfigError("env.start", "'random' needs a trainer to place the players: env.server=auto or env.trainer_port")
    if not isinstance(checked["synch_mode"], (bool, np.bool_)):
        raise ConfigError("env.synch_mode", f"must be true or false, got {checked['synch_mode']!r}")
    if not isinstance(checked["host"], str) or not checked["host"]:
        raise ConfigError("env.host", f"must be a host name or address, got {checked['host']!r}")
    for key in ("left_team", "right_team"):
        if not isinstance(checked[key], str) or not re.fullmatch(r"[A-Za-z0-9_\-]{1,15}", checked[key]):
            raise ConfigError(f"env.{key}", f"must be 1-15 letters, digits, '_' or '-', got {checked[key]!r}")
    if checked["left_team"] == checked["right_team"]:
        raise ConfigError("env.right_team", f"must differ from env.left_team ({checked['left_team']!r})")
    return checked


class RoboCupFamily(TaskTableFamily):
    """RoboCup 2D soccer on an rcssserver: ``robocup:1v1``, ``robocup:2v2``, ``robocup:3v3``."""

    name = FAMILY
    default_task = DEFAULT_TASK
    task_table = TASKS

    @classmethod
    def make(cls, task: str = DEFAULT_TASK, seed: int = 0, **options: Any) -> RoboCupEnvironment:
        """Players for both teams; nothing connects until the first ``reset()``.

        Options: ``server`` (``external``/``auto``), ``server_args``, ``host``, ``port``, ``trainer_port``,
        ``timeout`` and ``kick_off_timeout`` (seconds), ``cycle_limit``, ``start``, ``goal_reward``,
        ``ball_distance_reward``, ``ball_to_goal_reward``, ``nearest_players``, ``synch_mode``,
        ``left_team``, ``right_team``.
        """
        team_size = cls.task_entry(task)
        kwargs = _check_options(task, options)
        return RoboCupEnvironment(team_size, seed=seed, name=f"{FAMILY}:{task}", **kwargs)

