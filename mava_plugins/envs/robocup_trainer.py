"""rcssserver's trainer (offline coach): puts the ball and the players back for a new episode.

A trainer connects to the server's ``coach_port`` with ``(init (version 15))`` and may then
``(start)`` the match at once (no ``connect_wait``), ``(move (ball) X Y ...)``, ``(move
(player TEAM UNUM) X Y DIR VX VY)`` in global coordinates (the left team attacks towards
+x), ``(recover)`` every player's stamina and ``(change_mode play_on)``. The server accepts a
trainer only when started with ``server::coach_w_referee=true`` (or ``server::coach=true``,
which also turns the referee off); ``env.server=auto`` starts it so.
"""
from __future__ import annotations

import select
import socket
import time
from typing import Iterable, Optional, Tuple

from mava_plugins.envs.robocup_protocol import RoboCupError, replies_to

PROTOCOL_VERSION = 15


class Trainer:
    """One trainer connection; every command waits for the server's ``(ok ...)`` (or error)."""

    def __init__(self, host: str, port: int, timeout: float):
        self.address: Tuple[str, int] = (host, int(port))
        self.timeout = float(timeout)
        self.sock: Optional[socket.socket] = None

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock = sock
        deadline = time.monotonic() + self.timeout
        for text, address in replies_to(sock, self.address, f"(init (version {PROTOCOL_VERSION}))", deadline):
            if text.startswith("(error"):
                self.close()
                raise RoboCupError(
                    f"rcssserver at {self.address[0]}:{self.address[1]} refused the trainer: {text} "
                    "(start it with server::coach_w_referee=true)"
                )
            if text.startswith("(init ok"):
                sock.connect(address)
                return
        self.close()
        raise RoboCupError(
            f"no rcssserver trainer port answered at {self.address[0]}:{self.address[1]} within {self.timeout:g} s"
        )

    def command(self, text: str) -> None:
        """Send one command and wait for its ``(ok NAME ...)``; an ``(error ...)`` raises RoboCupError."""
        assert self.sock is not None, "connect() first"
        name = text[1:].split(" ", 1)[0].rstrip(")")
        try:
            self.sock.send(text.encode() + b"\x00")
        except OSError as error:
            raise RoboCupError(f"sending {text} to the rcssserver trainer port failed: {error}") from None
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RoboCupError(f"rcssserver's trainer port sent no reply to {text} within {self.timeout:g} s")
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if not ready:
                continue
            try:
                reply = self.sock.recv(65536).decode("latin-1").rstrip("\x00").strip()
            except ConnectionRefusedError:
                raise RoboCupError("the rcssserver trainer port refuses messages (the server exited)") from None
            if reply.startswith(f"(ok {name}"):
                return
            if reply.startswith("(error"):
                raise RoboCupError(f"rcssserver refused the trainer command {text}: {reply}")
            # anything else (a referee message the trainer hears) is not the reply

    def commands(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.command(text)

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
