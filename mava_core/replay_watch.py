"""Notices, from inside a node, that the replay server stopped answering.

A Reverb client whose server went away does not fail: a sampling trainer and a flushing
writer wait for it forever. Under process-per-node backends every trainer and executor
runs a :class:`ReplayWatch`, a daemon thread that asks the server for its info every
``every`` seconds; after ``misses`` unanswered probes in a row (while the program is not
already stopping) it records a :class:`~mava_core.errors.ReplayUnavailableError` for the
node and asks the program to stop, so the run ends with that message in bounded time
(about ``every * misses`` seconds plus the shutdown grace) instead of hanging.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

from mava_core.errors import ReplayUnavailableError

PROBE_EVERY_SECONDS = 3.0
PROBE_TIMEOUT_SECONDS = 3
MISSES = 3

_log = logging.getLogger(__name__)


class ReplayWatch:
    """Probes the replay server at ``address`` for the node ``node``; ``lost`` once it stopped answering."""

    def __init__(
        self,
        address: str,
        node: str,
        on_lost: Callable[[ReplayUnavailableError], None],
        stopping: Callable[[], bool] = lambda: False,
        every: float = PROBE_EVERY_SECONDS,
        misses: int = MISSES,
        client: Any = None,
    ):
        self.address = address
        self.node = node
        self.lost = False
        self._on_lost = on_lost
        self._stopping = stopping
        self._every = every
        self._misses = misses
        self._client = client
        self._done = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "ReplayWatch":
        self._thread = threading.Thread(target=self._run, name=f"replay-watch-{self.node}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=PROBE_TIMEOUT_SECONDS + 1)

    def _probe(self) -> bool:
        if self._client is None:
            import reverb

            self._client = reverb.Client(self.address)
        try:
            self._client.server_info(timeout=PROBE_TIMEOUT_SECONDS)
            return True
        except Exception:  # noqa: BLE001 - unreachable, timed out, or shut down: all mean no answer
            return False

    def _run(self) -> None:
        missed = 0
        while not self._done.wait(self._every):
            missed = 0 if self._probe() else missed + 1
            if missed < self._misses:
                continue
            if self._done.is_set() or self._safe_stopping():
                return  # the program is winding down: the replay server stopping is expected
            self.lost = True
            seconds = round(self._every * self._misses + PROBE_TIMEOUT_SECONDS * self._misses)
            error = ReplayUnavailableError(
                f"{self.node}: the replay server at {self.address} has not answered for about {seconds} s "
                "(it stopped or crashed); the run stops, its last checkpoint is kept"
            )
            _log.error("%s", error)
            self._on_lost(error)
            return

    def _safe_stopping(self) -> bool:
        try:
            return bool(self._stopping())
        except Exception as error:  # noqa: BLE001 - e.g. the counter is gone too: the program is ending
            _log.warning("%s: could not tell whether the program is stopping (%s); taken as stopping", self.node, error)
            return True
