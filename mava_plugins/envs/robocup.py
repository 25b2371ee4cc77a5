"""The ``robocup`` environment family: RoboCup 2D soccer players talking to an rcssserver over UDP.

``robocup:NvN`` (``1v1``, ``2v2``, ``3v3``) connects ``N`` players for each of two teams
(agents ``left_0 .. left_{N-1}`` and ``right_0 ..``; weights are shared per team) to an
rcssserver at ``host:port`` (default ``127.0.0.1:6000``). The protocol is the server's
player protocol, version 15:

* each player sends ``(init TEAM (version 15))`` to ``host:port``, reads ``(init SIDE UNUM
  PLAYMODE)`` and from then on talks to the port that reply came from;
* ``sense_body``, ``see`` and ``hear`` messages (s-expressions) are parsed into a
  fixed-size observation vector per agent (layout in :data:`OBSERVATION_FIELDS`);
* one command per agent per server cycle, from a discrete action (table in :data:`ACTIONS`);
  a step sends the commands and waits until every player has received the next
  ``sense_body`` (with ``synch_mode=True`` each player also sends ``(done)``, for a server
  started with ``server::synch_mode=true``);
* play mode and score are tracked from the referee's ``hear`` messages; the reward of a
  team is ``goal_reward * (goals scored - goals conceded)`` during the step, shared by its
  players; an episode ends on a goal or at ``time_over`` (termination, discount 0) or after
  ``cycle_limit`` cycles (truncation, discount 1);
* ``close()`` sends ``(bye)`` for every player and closes the sockets.

Only the standard library's ``socket`` and ``select`` are used. See
``docs/environments/robocup.md`` for installing and starting rcssserver.
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
from mava_plugins.envs.task_table import TaskTableFamily

FAMILY = "robocup"
DEFAULT_TASK = "1v1"
DOCS = "docs/environments/robocup.md"
PROTOCOL_VERSION = 15

#: task -> players per team
TASKS: Dict[str, int] = {"1v1": 1, "2v2": 2, "3v3": 3}

#: options of every task and their defaults
DEFAULT_OPTIONS: Dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 6000,
    "timeout": 5.0,
    "cycle_limit": 300,
    "goal_reward": 1.0,
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

#: play-mode categories of the observation's one-hot, from the observing team's side
PLAY_MODE_CATEGORIES = ("before_kick_off", "play_on", "our_set_piece", "their_set_piece", "goal", "other")
_SET_PIECES = ("kick_off", "kick_in", "free_kick", "corner_kick", "goal_kick", "indirect_free_kick", "penalty_kick")
_FOULS = ("offside", "back_pass", "free_kick_fault", "catch_fault", "foul_charge", "foul_push", "illegal_defense")

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
        "ball_seen", "ball_distance", "ball_direction",
        "opponent_goal_seen", "opponent_goal_distance", "opponent_goal_direction",
        "own_goal_seen", "own_goal_distance", "own_goal_direction",
    ]
    for k in range(nearest_players):
        fields += [f"player{k}_seen", f"player{k}_distance", f"player{k}_direction", f"player{k}_team"]
    fields += [f"play_mode_{name}" for name in PLAY_MODE_CATEGORIES]
    fields += ["score_own", "score_opponent", "episode_progress"]
    return fields


OBSERVATION_FIELDS = observation_fields(DEFAULT_OPTIONS["nearest_players"])


class RoboCupError(MavaError):
    """No server, a server that stopped answering, or a server that refused a player."""


# ----------------------------------------------------------------------------- parsing
_TOKEN = re.compile(r'\(|\)|"[^"]*"|[^\s()"]+')


def parse_sexp(text: str) -> Any:
    """Parse one s-expression into nested lists of strings (quoted strings keep their quotes)."""
    stack: List[list] = [[]]
    for token in _TOKEN.findall(text.rstrip("\x00")):
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise ValueError(f"unbalanced ')' in {text!r}")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1 or not stack[0]:
        raise ValueError(f"unbalanced or empty s-expression {text!r}")
    return stack[0][0]


def _num(token: Any, default: float = 0.0) -> float:
    try:
        return float(token)
    except (TypeError, ValueError):
        return default


def parse_init(text: str) -> Tuple[str, int, str]:
    """``(init l 1 before_kick_off)`` -> ``("l", 1, "before_kick_off")``; errors raise RoboCupError."""
    tree = parse_sexp(text)
    if tree and tree[0] == "error":
        raise RoboCupError(f"rcssserver refused the player: {' '.join(map(str, tree[1:]))}")
    if len(tree) < 4 or tree[0] != "init" or tree[1] not in ("l", "r"):
        raise RoboCupError(f"unexpected reply to init: {text.strip(chr(0))!r}")
    return tree[1], int(_num(tree[2])), str(tree[3])


def parse_sense_body(tree: list) -> Dict[str, float]:
    """``(sense_body T (stamina S E C) (speed V D) (head_angle H) (kick N) ...)`` -> a dict."""
    body: Dict[str, float] = {"time": _num(tree[1])}
    for item in tree[2:]:
        if not isinstance(item, list) or not item:
            continue
        key = item[0]
        if key == "stamina":
            body["stamina"] = _num(item[1])
            body["effort"] = _num(item[2]) if len(item) > 2 else 1.0
        elif key == "speed":
            body["speed"] = _num(item[1])
            body["speed_direction"] = _num(item[2]) if len(item) > 2 else 0.0
        elif key == "head_angle":
            body["head_angle"] = _num(item[1])
        elif key in ("kick", "dash", "turn", "say", "turn_neck", "catch", "move", "change_view"):
            body[f"{key}_count"] = _num(item[1])
    return body


def parse_see(tree: list) -> Dict[str, Any]:
    """``(see T ((b) D DIR ...) ((g r) D DIR) ((p "team" 2) D DIR ...) ...)`` -> ball, goals, players.

    Distances and directions are as the server sends them (metres; degrees relative to the
    head, positive clockwise). Objects close behind the player come as ``(B)``, ``(G)``,
    ``(P)`` (upper case) and are treated alike. Flags and lines are ignored.
    """
    seen: Dict[str, Any] = {"time": _num(tree[1]), "ball": None, "goals": {}, "players": []}
    for item in tree[2:]:
        if not isinstance(item, list) or len(item) < 2 or not isinstance(item[0], list) or not item[0]:
            continue
        name = [str(part) for part in item[0]]
        kind = name[0].lower()
        values = [_num(v, math.nan) for v in item[1:] if not isinstance(v, list)]
        if len(values) == 1:  # only a direction: too far to tell the distance
            values = [math.nan, values[0]]
        if len(values) < 2:
            continue
        distance, direction = values[0], values[1]
        if kind == "b":
            seen["ball"] = (distance, direction)
        elif kind == "g" and len(name) > 1:
            seen["goals"][name[1]] = (distance, direction)
        elif kind == "p":
            team = name[1].strip('"') if len(name) > 1 else None
            unum = int(_num(name[2], -1)) if len(name) > 2 and name[2] != "goalie" else None
            seen["players"].append((team, unum, distance, direction))
    return seen


def parse_hear(tree: list) -> Tuple[float, str, str]:
    """``(hear T SENDER MESSAGE)`` -> ``(time, sender, message)``; sender is ``referee``, ``self``,
    ``coach`` or a direction (``our``/``opp`` and a number may follow it)."""
    time_ = _num(tree[1])
    sender = str(tree[2]) if len(tree) > 2 else ""
    message = str(tree[-1]) if len(tree) > 3 else ""
    return time_, sender, message.strip('"')


def goal_from_referee(message: str) -> Optional[Tuple[str, int]]:
    """``goal_l_2`` -> ``("l", 2)`` (the side that scored and its new score); else None."""
    match = re.fullmatch(r"goal_([lr])_(\d+)", message)
    return (match.group(1), int(match.group(2))) if match else None


def play_mode_category(mode: str, side: str) -> str:
    """One of :data:`PLAY_MODE_CATEGORIES` for a play mode seen from ``side`` (``l``/``r``)."""
    if mode in ("before_kick_off", "play_on"):
        return mode
    if mode.startswith("goal_") and not mode.startswith("goal_kick"):
        return "goal"
    base, _, suffix = mode.rpartition("_")
    if suffix in ("l", "r"):
        if base in _SET_PIECES:
            return "our_set_piece" if suffix == side else "their_set_piece"
        if base in _FOULS:  # the suffix names the offender: the other side restarts
            return "their_set_piece" if suffix == side else "our_set_piece"
    return "other"


def _format_number(value: float) -> str:
    return str(int(round(value))) if abs(value - round(value)) < 1e-6 else f"{value:.1f}"


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
        self.last_body_time = -1.0
        self.last_see_time = -1.0
        self.ball_direction: Optional[float] = None  # body-relative, as last seen
        self.goal_direction: Optional[float] = None

    def body_relative(self, direction: float) -> float:
        return _wrap_angle(direction + self.body.get("head_angle", 0.0))


def _wrap_angle(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


class RoboCupEnvironment(MultiAgentEnvironment):
    """Two teams of ``players_per_team`` players on an rcssserver; see the module docstring."""

    def __init__(
        self,
        players_per_team: int = 1,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 6000,
        timeout: float = 5.0,
        cycle_limit: int = 300,
        goal_reward: float = 1.0,
        nearest_players: int = 3,
        synch_mode: bool = False,
        left_team: str = "mava_left",
        right_team: str = "mava_right",
        name: str = FAMILY,
    ):
        self._seed = seed  # the server owns the randomness; kept for the family interface
        self._host, self._port, self._timeout = host, int(port), float(timeout)
        self._cycle_limit = int(cycle_limit)
        self._goal_reward = float(goal_reward)
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
        self.commands_sent: List[Dict[str, Optional[str]]] = []  # per step: agent -> command

    # ------------------------------------------------------------------ connection
    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    def _no_server(self, detail: str) -> RoboCupError:
        return RoboCupError(
            f"no rcssserver answered at {self.address} within {self._timeout:g} s; "
            f"start one with `rcssserver` — see {DOCS} ({detail})"
        )

    def _connect(self) -> None:
        try:
            for player in self._players:
                self._init_player(player)
        except BaseException:
            self._close_sockets()
            raise
        self._connected = True

    def _init_player(self, player: _Player) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        player.sock = sock
        message = f"(init {player.team} (version {PROTOCOL_VERSION}))".encode()
        deadline = time.monotonic() + self._timeout
        next_send = 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise self._no_server("no reply to init")
            if now >= next_send:  # UDP may drop a datagram: resend every 0.5 s
                try:
                    sock.sendto(message + b"\x00", (self._host, self._port))
                except OSError as error:
                    raise self._no_server(str(error)) from None
                next_send = now + 0.5
            ready, _, _ = select.select([sock], [], [], min(deadline, next_send) - now)
            if not ready:
                continue
            try:
                data, address = sock.recvfrom(65536)
            except ConnectionRefusedError:
                raise self._no_server("connection refused") from None
            text = data.decode("latin-1").rstrip("\x00")
            if not text.startswith(("(init", "(error")):
                continue
            side, unum, mode = parse_init(text)
            if side != player.expected_side:
                raise RoboCupError(
                    f"rcssserver at {self.address} put team {player.team!r} on side {side!r}, not "
                    f"{player.expected_side!r}: another team is already connected; restart the server"
                )
            player.side, player.unum, player.server = side, unum, address
            self._play_mode = mode
            return

    def _send(self, player: _Player, command: str) -> None:
        assert player.sock is not None and player.server is not None
        try:
            player.sock.sendto(command.encode() + b"\x00", player.server)
        except OSError as error:
            raise RoboCupError(f"{self._name}: sending to rcssserver at {self.address} failed: {error}") from None

    def _wait_for_cycle(self) -> None:
        """Read messages until every player has a ``sense_body`` newer than its last one.

        Then wait up to :data:`SEE_GRACE_SECONDS` for each player's ``see`` of that cycle (the
        server sends it just after ``sense_body``), so an observation never mixes a new body
        with the previous cycle's view depending on timing; a server that skips ``see`` this
        cycle (narrow or low-quality views) costs only the grace.
        """
        waiting = {p.sock: p for p in self._players if p.sock is not None}
        before = {p.agent_id: p.last_body_time for p in self._players}
        deadline = time.monotonic() + self._timeout
        see_deadline = None
        while True:
            pending = [p for p in self._players if p.last_body_time <= before[p.agent_id]]
            if not pending:
                unseen = [p for p in self._players if p.last_see_time < p.last_body_time]
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
                    f"env.synch_mode={str(self._synch).lower()})? See {DOCS}"
                )
            ready, _, _ = select.select(list(waiting), [], [], remaining)
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
                    raise RoboCupError(f"{self._name}: lost the rcssserver at {self.address}") from None
                self._handle(player, data.decode("latin-1"))

    def _handle(self, player: _Player, text: str) -> None:
        text = text.rstrip("\x00").strip()
        if not text.startswith(("(sense_body", "(see", "(hear")):
            return  # server_param, player_param, player_type, ok, warning, ...
        try:
            tree = parse_sexp(text)
        except ValueError:
            return
        kind = tree[0]
        if kind == "sense_body":
            player.body = parse_sense_body(tree)
            player.last_body_time = player.body["time"]
        elif kind == "see":
            player.see = parse_see(tree)
            player.last_see_time = player.see["time"]
            if player.see["ball"] is not None:
                player.ball_direction = player.body_relative(player.see["ball"][1])
            opponent_goal = "r" if player.side == "l" else "l"
            if opponent_goal in player.see["goals"]:
                player.goal_direction = player.body_relative(player.see["goals"][opponent_goal][1])
        elif kind == "hear":
            _, sender, message = parse_hear(tree)
            if sender != "referee":
                return
            goal = goal_from_referee(message)
            if goal is not None:
                side, score = goal
                self._score[side] = max(self._score[side], score)
                self._play_mode = f"goal_{side}"
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

        opponent_goal = "r" if side == "l" else "l"
        obs += polar(see["ball"])
        obs += polar(see["goals"].get(opponent_goal))
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

    # ------------------------------------------------------------------ dm_env API
    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def reset(self) -> dm_env.TimeStep:
        if not self._connected:
            self._connect()
        count = len(self._players) // 2
        for player in self._players:
            index = self._players.index(player) % count
            # Own-half kick-off formation (the server mirrors the right team's coordinates).
            x, y = -5.0 - 8.0 * index, (index - (count - 1) / 2.0) * 12.0
            self._send(player, f"(move {_format_number(x)} {_format_number(y)})")
            if self._synch:
                self._send(player, "(done)")
        self._wait_for_cycle()
        self._episode_start_score = dict(self._score)
        self._episode_cycles = 0
        self._reset_next_step = False
        self._metrics = {}
        return first_timestep(self._spec, self._observations())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        score_before = dict(self._score)
        sent: Dict[str, Optional[str]] = {}
        for player in self._players:
            if player.agent_id not in actions:
                raise MavaError(f"{self._name}: no action for agent {player.agent_id!r}; every agent acts at every step")
            action = int(actions[player.agent_id])
            if not 0 <= action < self._n_actions:
                raise MavaError(f"{self._name}: agent {player.agent_id!r}: action {action} is not in [0, {self._n_actions})")
            command = self.command(player, action)
            sent[player.agent_id] = command
            if command is not None:
                self._send(player, command)
            if self._synch:
                self._send(player, "(done)")
        self.commands_sent.append(sent)
        self._wait_for_cycle()
        self._episode_cycles += 1
        gained = {side: self._score[side] - score_before[side] for side in ("l", "r")}
        team_reward = {
            "l": self._goal_reward * (gained["l"] - gained["r"]),
            "r": self._goal_reward * (gained["r"] - gained["l"]),
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
            }
        self._reset_next_step = last
        return next_timestep(
            self._observations(),
            {p.agent_id: team_reward[p.side] for p in self._players},
            {p.agent_id: discount for p in self._players},
            last,
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
        for player in self._players:
            if player.sock is not None:
                player.sock.close()
                player.sock = None
            player.server = None
            player.last_body_time = -1.0

    def close(self) -> None:
        """Say ``(bye)`` for every connected player and close its socket (safe to call twice)."""
        for player in self._players:
            if player.sock is not None and player.server is not None:
                try:
                    player.sock.sendto(b"(bye)\x00", player.server)
                except OSError:
                    pass
        self._close_sockets()
        self._connected = False
        self._reset_next_step = True

    def __del__(self):  # a forgotten environment still releases its sockets
        try:
            self._close_sockets()
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
    integer("cycle_limit", 1)
    integer("nearest_players", 0, 21)
    for key in ("timeout", "goal_reward"):
        value = checked[key]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            raise ConfigError(f"env.{key}", f"must be a number, got {value!r}")
        checked[key] = float(value)
    if checked["timeout"] <= 0:
        raise ConfigError("env.timeout", f"must be positive (seconds), got {checked['timeout']!r}")
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

        Options: ``host``, ``port``, ``timeout`` (seconds), ``cycle_limit``, ``goal_reward``,
        ``nearest_players``, ``synch_mode``, ``left_team``, ``right_team``.
        """
        team_size = cls.task_entry(task)
        kwargs = _check_options(task, options)
        return RoboCupEnvironment(team_size, seed=seed, name=f"{FAMILY}:{task}", **kwargs)

