"""Ctrl-C and SIGTERM as a request to stop a run cleanly (final checkpoint, every node stopped).

Backends wrap their run in :class:`StopSignals`: the first SIGINT or SIGTERM only records
the request, which the backend honours at its next safe point; a second SIGINT raises
``KeyboardInterrupt`` as usual, for when the clean stop itself hangs.
"""
from __future__ import annotations

import signal
import threading
from typing import Any, Dict, Optional

#: the signals that ask a run to stop
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Context manager: while active, SIGINT/SIGTERM set ``requested`` (the signal number) instead of killing.

    ``count`` is how many such signals arrived. Outside the main thread (where Python cannot
    install handlers) it does nothing, and the default behaviour stays.
    """

    def __init__(self) -> None:
        self.requested: Optional[int] = None
        self.count = 0
        self._previous: Dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.requested is None:
            self.requested = signum
            name = signal.Signals(signum).name
            print(f"\n{name}: stopping after a final checkpoint (Ctrl-C again to stop at once)", flush=True)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()


def interrupted_error(builder: Any, signum: int):
    """The error a backend raises after a clean early stop: what was saved and how to resume."""
    from mava_core.errors import RunInterrupted

    checkpointer = builder.checkpointer
    latest = checkpointer.latest() if checkpointer is not None else None
    name = signal.Signals(signum).name
    run_dir = builder.run.run_dir
    if latest is None:
        return RunInterrupted(f"run stopped by {name}; no checkpoint was written in {run_dir}", signum)
    env_steps = int(latest["counts"].get("env_steps", 0))
    return RunInterrupted(
        f"run stopped by {name} at {env_steps} env steps; checkpoint {latest['id']} is in "
        f"{run_dir}/checkpoints; continue with: mava run --resume {run_dir}",
        signum,
        env_steps,
    )
