"""The rcssserver player protocol (version 15) for the ``robocup`` family: parsing its messages.

Messages are s-expressions; :func:`parse_sexp` turns one into nested lists of strings and the
``parse_*`` functions read the ones the wrapper uses (``init``, ``sense_body``, ``see``,
``hear``). :func:`play_mode_category` maps the referee's play modes onto the observation's
one-hot.
"""
from __future__ import annotations

import math
import re
import select
import socket
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

from mava_core.errors import MavaError

#: play-mode categories of the observation's one-hot, from the observing team's side
PLAY_MODE_CATEGORIES = ("before_kick_off", "play_on", "our_set_piece", "their_set_piece", "goal", "other")
_SET_PIECES = ("kick_off", "kick_in", "free_kick", "corner_kick", "goal_kick", "indirect_free_kick", "penalty_kick")
_FOULS = ("offside", "back_pass", "free_kick_fault", "catch_fault", "foul_charge", "foul_push", "illegal_defense")


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


def replies_to(
    sock: socket.socket, address: Tuple[str, int], message: str, deadline: float
) -> Iterator[Tuple[str, Any]]:
    """Send ``message`` to ``address`` every 0.5 s (UDP may drop it) and yield each reply until ``deadline``.

    Yields ``(text, sender)``: the datagram without its trailing NUL and white space, and the
    address it came from (rcssserver answers an init from a port of its own). Returns at the
    deadline; a refused send (nothing listens yet) is tried again on the next round. An
    ``OSError`` from sending is the caller's to report.
    """
    data = message.encode() + b"\x00"
    next_send = 0.0
    while True:
        now = time.monotonic()
        if now >= deadline:
            return
        if now >= next_send:
            sock.sendto(data, address)
            next_send = now + 0.5
        ready, _, _ = select.select([sock], [], [], max(0.0, min(deadline, next_send) - now))
        if not ready:
            continue
        try:
            reply, sender = sock.recvfrom(65536)
        except ConnectionRefusedError:  # nothing listens (yet): try again until the deadline
            continue
        yield reply.decode("latin-1").rstrip("\x00").strip(), sender
