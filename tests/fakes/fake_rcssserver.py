"""A tiny scripted stand-in for rcssserver on 127.0.0.1, for tests (no soccer physics).

``FakeRcssServer`` is a thread with a UDP socket on ``127.0.0.1`` and an OS-chosen port
(``server.port``). Like rcssserver it

* answers ``(init TEAM (version V))`` from a new per-player socket (so the client must
  switch ports) with ``(init SIDE UNUM before_kick_off)`` followed by a ``server_param``
  message; the first team is ``l``, the second ``r``, a third gets ``(error
  no_more_team_or_player_or_goalie)``;
* each cycle sends every player a ``sense_body`` (stamina, speed, head angle and command
  counters that follow the commands it received), a ``see`` (ball, both goals, a flag,
  every other player with its team and number, one unidentified far player) and, when the
  play mode changes, a referee ``hear``;
* records every command as ``(cycle, team, unum, command)`` in ``server.commands``;
* like rcssserver with ``server::auto_mode``, stays in ``before_kick_off`` with its clock
  standing still (``sense_body`` and ``see`` keep time 0) for ``connect_wait`` cycles after
  the first player connects, then says ``kick_off_l``; a kick by the kick-off side turns a
  ``kick_off_*`` into ``play_on`` (the kick-off itself);
* scores a goal for a side after ``goal_after_kicks`` kicks by its players in ``play_on``: the
  next cycle the referee says ``goal_l_N``/``goal_r_N``, the clock stands still for
  ``after_goal_wait`` cycles (rcssserver: 50), then the other side gets ``kick_off_*``;
* at game time ``time_over_at`` says ``time_over`` and, ``game_over_wait`` cycles later (or
  once every player has left), exits as rcssserver in auto_mode does: every socket closes, so
  the players' ports refuse;
* ``(bye)`` removes the player and closes its socket; ``move`` is recorded (no positions).

Cycles advance when every connected player has sent ``(done)`` (``synch=True``, like
``server::synch_mode``; each cycle's messages then end with ``(think)``), or every ``cycle_seconds`` otherwise; in synch mode a cycle is
also forced after ``synch_fallback_seconds`` so a broken client cannot hang a test.
Simplified: no ball or player physics (the ball's distance shrinks with the player's
dashes, directions are scripted), no view-width/quality changes, no coach, no half time.
Use it for what a real server cannot do on demand (a silent server, a third team, exact
command records); tests/test_robocup_real.py runs the shared assertions against both.
"""
from __future__ import annotations

import re
import select
import socket
import threading
import time
from typing import Dict, List, Optional, Tuple


class _FakePlayer:
    def __init__(self, team: str, side: str, unum: int, client: Tuple[str, int]):
        self.team, self.side, self.unum, self.client = team, side, unum, client
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.counts = {"kick": 0, "dash": 0, "turn": 0, "move": 0}
        self.done = False
        self.head_angle = 0.0


class FakeRcssServer(threading.Thread):
    def __init__(
        self,
        goal_after_kicks: int = 3,
        synch: bool = True,
        cycle_seconds: float = 0.01,
        synch_fallback_seconds: float = 2.0,
        time_over_at: Optional[int] = None,
        answer_init: bool = True,
        connect_wait: int = 3,
        after_goal_wait: int = 5,
        game_over_wait: int = 2,
    ):
        super().__init__(daemon=True, name="fake-rcssserver")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.goal_after_kicks = goal_after_kicks
        self.synch = synch
        self.cycle_seconds = cycle_seconds
        self.synch_fallback_seconds = synch_fallback_seconds
        self.time_over_at = time_over_at
        self.answer_init = answer_init
        self.connect_wait = connect_wait
        self.after_goal_wait = after_goal_wait
        self.game_over_wait = game_over_wait
        self.time = 0  # the game clock: stands still in before_kick_off, after a goal and at time_over
        self._frozen_cycles = 0  # cycles spent in the current frozen play mode
        self.exited = threading.Event()
        self.players: Dict[int, _FakePlayer] = {}  # fileno -> player
        self.closed_players: List[_FakePlayer] = []
        self.teams: List[str] = []
        self.commands: List[Tuple[int, str, int, str]] = []
        self.received_inits: List[str] = []
        self.cycle = 0
        self.play_mode = "before_kick_off"
        self.score = {"l": 0, "r": 0}
        self.kicks = {"l": 0, "r": 0}
        self._script: List[str] = []  # referee messages for the next cycles
        self._stopping = threading.Event()
        self._last_cycle = time.monotonic()

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "FakeRcssServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)
        self._close_all()

    def _close_all(self) -> None:
        for player in list(self.players.values()):
            player.sock.close()
        self.players.clear()
        self.sock.close()

    def run(self) -> None:
        while not self._stopping.is_set():
            socks = [self.sock] + [p.sock for p in self.players.values()]
            ready, _, _ = select.select(socks, [], [], 0.005)
            for sock in ready:
                try:
                    data, address = sock.recvfrom(65536)
                except OSError:
                    continue
                text = data.decode("latin-1").rstrip("\x00").strip()
                if sock is self.sock:
                    self._on_init(text, address)
                else:
                    player = self.players.get(sock.fileno())
                    if player is not None:
                        self._on_command(player, text)
            if self.players and self._cycle_due():
                self._advance()
            elif not self.players and self.play_mode == "time_over":
                self._stopping.set()  # every player left after the match: nobody to wait for
        self._close_all()

    # ------------------------------------------------------------------ messages
    def _send(self, player: _FakePlayer, text: str) -> None:
        try:
            player.sock.sendto(text.encode() + b"\x00", player.client)
        except OSError:
            pass

    def _on_init(self, text: str, address) -> None:
        self.received_inits.append(text)
        if not self.answer_init:
            return
        match = re.match(r"\(init (\S+) \(version ([\d.]+)\)\)", text)
        if not match:
            self.sock.sendto(b"(error illegal_command_form)\x00", address)
            return
        team = match.group(1)
        if team not in self.teams:
            if len(self.teams) == 2:
                self.sock.sendto(b"(error no_more_team_or_player_or_goalie)\x00", address)
                return
            self.teams.append(team)
        side = "lr"[self.teams.index(team)]
        unum = 1 + sum(1 for p in self.players.values() if p.team == team)
        player = _FakePlayer(team, side, unum, address)
        self.players[player.sock.fileno()] = player
        self._send(player, f"(init {side} {unum} {self.play_mode})")
        self._send(player, "(server_param (goal_width 14.02) (stamina_max 8000) (synch_mode 1))")

    def _on_command(self, player: _FakePlayer, text: str) -> None:
        self.commands.append((self.cycle, player.team, player.unum, text))
        name = text[1:].split(" ", 1)[0].rstrip(")")
        if name == "done":
            player.done = True
        elif name == "bye":
            del self.players[player.sock.fileno()]
            player.sock.close()
            self.closed_players.append(player)
        elif name in player.counts:
            player.counts[name] += 1
            if name == "kick" and self.play_mode == f"kick_off_{player.side}":
                self._script = ["play_on"]  # the kick-off is taken
            elif name == "kick" and self.play_mode == "play_on":
                self.kicks[player.side] += 1
                if self.kicks[player.side] == self.goal_after_kicks:
                    self.kicks = {"l": 0, "r": 0}
                    self.score[player.side] += 1
                    self._script = [f"goal_{player.side}_{self.score[player.side]}"]
        elif name == "turn":
            pass

    def _cycle_due(self) -> bool:
        waited = time.monotonic() - self._last_cycle
        if self.synch:
            return all(p.done for p in self.players.values()) or waited >= self.synch_fallback_seconds
        return waited >= self.cycle_seconds

    def _advance(self) -> None:
        self._last_cycle = time.monotonic()
        self.cycle += 1
        frozen = self.play_mode in ("before_kick_off", "goal_l", "goal_r", "time_over")
        self._frozen_cycles = self._frozen_cycles + 1 if frozen else 0
        if not frozen:
            self.time += 1
        referee = None
        if self.play_mode == "time_over":
            if self._frozen_cycles > self.game_over_wait:
                self._stopping.set()  # "Game Over. Exiting..."
                return
        elif self._script:
            referee = self._script.pop(0)
        elif self.play_mode == "before_kick_off" and self._frozen_cycles > self.connect_wait:
            referee = "kick_off_l"
        elif self.play_mode in ("goal_l", "goal_r") and self._frozen_cycles > self.after_goal_wait:
            referee = "kick_off_r" if self.play_mode == "goal_l" else "kick_off_l"
        if self.time_over_at is not None and self.time >= self.time_over_at and self.play_mode != "time_over":
            referee = "time_over"
        if referee is not None:
            self.play_mode = referee[: referee.rfind("_")] if referee.startswith("goal_") else referee
            self._frozen_cycles = 0
        for player in list(self.players.values()):
            player.done = False
            if referee is not None:  # the referee speaks as the cycle starts, before the senses
                self._send(player, f"(hear {self.time} referee {referee})")
            self._send(player, self.sense_body(player))
            self._send(player, self.see(player))
            if self.synch:  # like rcssserver: the cycle's last message, then it waits for (done)
                self._send(player, "(think)")

    def sense_body(self, player: _FakePlayer) -> str:
        c = player.counts
        stamina = 8000 - 40 * c["dash"]
        speed = 0.6 if c["dash"] else 0
        return (
            f"(sense_body {self.time} (view_mode high normal) (stamina {stamina} 1 130600) "
            f"(speed {speed} 0) (head_angle {player.head_angle:g}) (kick {c['kick']}) (dash {c['dash']}) "
            f"(turn {c['turn']}) (say 0) (turn_neck 0) (catch 0) (move {c['move']}) (change_view 0) "
            "(arm (movable 0) (expires 0) (target 0 0) (count 0)) (focus (target none) (count 0)) "
            "(tackle (expires 0) (count 0)) (collision none) (foul (charged 0) (card none)))"
        )

    def see(self, player: _FakePlayer) -> str:
        ball_distance = max(0.5, 10.0 - 0.5 * player.counts["dash"])
        opponent_goal, own_goal = ("r", "l") if player.side == "l" else ("l", "r")
        parts = [
            "((f c) 12.2 -20 0 0)",
            f"((g {opponent_goal}) 45.6 {-5 * player.unum})",
            f"((g {own_goal}) 60.3 178)",
            f"((b) {ball_distance:g} {10 * player.unum} 0 0)",
        ]
        for other in self.players.values():
            if other is not player:
                distance = 5.0 + 3 * other.unum + (10 if other.side != player.side else 0)
                parts.append(f'((p "{other.team}" {other.unum}) {distance:g} {15 * other.unum} 0 0 0 0)')
        parts.append("((p) 60.1 40)")
        return f"(see {self.time} {' '.join(parts)})"

    def commands_of(self, team: str, unum: int, skip=("(done)",)) -> List[str]:
        return [text for _, t, u, text in self.commands if t == team and u == unum and text not in skip]
