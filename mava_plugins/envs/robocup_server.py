"""Find and start a local rcssserver for the ``robocup`` family (``env.server=auto`` and the tests).

:func:`find_rcssserver` looks for the binary in ``$RCSSSERVER``, on ``PATH``, then where
``make robocup-server`` (``scripts/build_rcssserver.sh``) puts it:
``${XDG_CACHE_HOME:-~/.cache}/mava/rcssserver-19.0.0/bin/rcssserver``.

:class:`RcssServerProcess` starts one server on free UDP ports with the options that make it
fit for training (see :func:`training_arguments`): it kicks off by itself a few cycles after it
starts (``server::auto_mode``, ``server::connect_wait``), plays an endless match unless told
otherwise (one half of 10^9 cycles: ``server::half_time=-1``, no time limit, would also stop
auto_mode from ever kicking off), exits two cycles after ``time_over``, accepts a trainer
on its ``coach_port`` (``server::coach_w_referee``) and logs nothing.
"""
from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence

from mava_core.errors import MavaError

VERSION = "19.0.0"
DOCS = "docs/environments/robocup.md"

#: cycles an auto-started server waits for players before it kicks off (rcssserver's default: 300)
CONNECT_WAIT = 10

#: seconds of game time in the one half of an auto-started server: 10^9 cycles (10 per second)
ENDLESS_HALF_TIME = 100_000_000


class RcssServerNotFound(MavaError):
    """No rcssserver binary on this machine."""


def cached_binary() -> Path:
    """Where ``make robocup-server`` installs the binary."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "mava" / f"rcssserver-{VERSION}" / "bin" / "rcssserver"


def find_rcssserver() -> Optional[str]:
    """The rcssserver binary to start: ``$RCSSSERVER``, ``rcssserver`` on PATH, or the cached build."""
    explicit = os.environ.get("RCSSSERVER")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    on_path = shutil.which("rcssserver")
    if on_path:
        return on_path
    cached = cached_binary()
    return str(cached) if os.access(cached, os.X_OK) else None


def free_udp_ports(count: int) -> List[int]:
    """``count`` distinct UDP ports on 127.0.0.1 that were free a moment ago."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def training_arguments(port: int, coach_port: int, olcoach_port: int, synch_mode: bool) -> List[str]:
    """rcssserver options for an automatically started training server.

    rcssserver 19 has no option for its random seed (``server::random_seed`` is commented out in
    its source): its noise differs from run to run.
    """
    return [
        f"server::port={port}",
        f"server::coach_port={coach_port}",
        f"server::olcoach_port={olcoach_port}",
        f"server::synch_mode={str(bool(synch_mode)).lower()}",
        "server::auto_mode=true",
        "server::coach_w_referee=true",  # accept a trainer (robocup_trainer.py) beside the referee
        f"server::connect_wait={CONNECT_WAIT}",
        "server::kick_off_wait=10",
        "server::game_over_wait=2",
        f"server::half_time={ENDLESS_HALF_TIME}",
        "server::nr_normal_halfs=1",
        "server::nr_extra_halfs=0",
        "server::penalty_shoot_outs=false",
        "server::game_logging=false",
        "server::text_logging=false",
        "server::keepaway_logging=false",
        "server::profile=false",
    ]


class RcssServerProcess:
    """One rcssserver child process on free ports; ``stop()`` (or the context manager) ends it."""

    def __init__(
        self,
        synch_mode: bool = True,
        extra_args: Sequence[str] | str = (),
        binary: Optional[str] = None,
        host: str = "127.0.0.1",
        port: Optional[int] = None,
    ):
        """``port``: the player port (default: a free one; the coach ports are free ones)."""
        binary = binary or find_rcssserver()
        if binary is None:
            raise RcssServerNotFound(
                f"env.server=auto: no rcssserver binary found ($RCSSSERVER, PATH, {cached_binary()}); "
                f"build it with `make robocup-server` — see {DOCS}"
            )
        self.binary = binary
        self.host = host
        self.port, self.coach_port, olcoach_port = free_udp_ports(3)
        coach_port = self.coach_port
        if port is not None:
            self.port = int(port)
        extra = shlex.split(extra_args) if isinstance(extra_args, str) else list(extra_args)
        self.args = [binary, *training_arguments(self.port, coach_port, olcoach_port, synch_mode), *extra]
        # rcssserver writes its config files under $HOME/.rcssserver: keep them in a private folder
        self._home = tempfile.mkdtemp(prefix="mava-rcssserver-")
        self._log = open(os.path.join(self._home, "server.log"), "w+b")
        self.process = subprocess.Popen(
            self.args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=self._home, env={**os.environ, "HOME": self._home}, start_new_session=True,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the server printed (one line, ' | '-separated)."""
        try:
            self._log.flush()
            with open(self._log.name, "rb") as log:
                text = log.read().decode("latin-1", "replace")
        except (OSError, ValueError):
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())

    def exited_idle(self, wait: float = 2.0) -> bool:
        """Whether the server exited (waiting up to ``wait`` s for it to finish) because its
        players sent no ``(done)`` for 20 cycles of 1.25 s (synch mode: "Waiting too long for
        clients! Exiting")."""
        return self.wait(wait) is not None and "Waiting too long for clients" in self.log_tail(lines=50)

    def describe_exit(self) -> str:
        """``exited with code N (last output: ...)`` or ``is running``."""
        code = self.process.poll()
        if code is None:
            return "is running"
        return f"exited with code {code} (last output: {self.log_tail() or 'none'})"

    def stop(self, grace: float = 2.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``grace`` seconds); safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=grace)
        if not self._log.closed:
            self._log.close()
        shutil.rmtree(self._home, ignore_errors=True)

    def wait(self, timeout: float) -> Optional[int]:
        """Wait up to ``timeout`` seconds for the server to exit; its exit code, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                return code
            time.sleep(0.02)
        return self.process.poll()

    def __enter__(self) -> "RcssServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass
