"""Starts a Launchpad program's node processes so that the launcher sees how each one ended.

Launchpad's own current-terminal launcher runs every node as ``bash decorate_output ...
python ... | sed ...`` and registers the shell by pid: the exit status it can read is
``sed``'s, always 0. A node that crashes (a segfault, the OOM killer, an uncaught exception)
therefore looks like one that finished, and the nodes that call it wait for it forever.

:func:`installed` swaps that launcher, inside the launcher process only, for one that starts
each node's Python process directly (a worker Launchpad watches by its exit status and stops
the program for, as it does for its other process workers) and copies its output, line by
line and labelled with the node, to this process's standard output. :class:`NodeProcesses`
remembers which node ended first with a non-zero status, so the run can report it by name.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any, Iterator, List, Optional, Tuple

#: ANSI colours of the node labels, in turn
_COLOURS = (36, 33, 32, 34, 35)
_write_lock = threading.Lock()


def node_name(title: str) -> str:
    """Mava's name for a Launchpad worker title: ``executor/1`` is ``executor_1``, ``trainer/0`` is ``trainer``."""
    group, _, index = title.partition("/")
    return f"{group}_{index or 0}" if group == "executor" else group


def describe_status(returncode: int) -> str:
    """``status 1`` or ``signal SIGKILL (9)`` for a process's return code."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name} ({-returncode})"
        except ValueError:
            return f"signal {-returncode}"
    return f"status {returncode}"


class NodeProcesses:
    """The node processes started for one launch, with the first that ended badly."""

    def __init__(self, stream: Optional[IO[bytes]] = None):
        self._stream = stream
        self.processes: List[Tuple[str, subprocess.Popen]] = []
        self._crashes: List[Tuple[float, str, int]] = []
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()

    # --------------------------------------------------------------- launching
    def launch(self, commands_to_launch: Any) -> Any:
        """Launchpad's ``run_commands_locally`` hook: start every command, return the worker manager."""
        from launchpad.launch import worker_manager

        manager = worker_manager.WorkerManager()
        for index, command in enumerate(commands_to_launch):
            env = {**os.environ, **command.env_overrides}
            # stdin from /dev/null: a node that raises never waits in a post-mortem debugger
            manager.process_worker(command.title, command.command_as_list, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            # the Popen it just made (WorkerManager keeps its process workers per title, in order)
            self.watch(command.title, manager._active_workers[command.title][-1], _COLOURS[index % len(_COLOURS)])
        return manager

    def watch(self, title: str, process: subprocess.Popen, colour: int = _COLOURS[0]) -> None:
        """Copy ``process``'s output (a pipe) labelled with ``title``, and note how it ends."""
        self.processes.append((title, process))
        thread = threading.Thread(target=self._copy_output, args=(title, process, colour), name=f"output-{title}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def finish_output(self, timeout: float = 5.0) -> None:
        """Wait (at most ``timeout`` s in all) until the output of the ended processes is copied: the last lines often say why."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _copy_output(self, title: str, process: subprocess.Popen, colour: int) -> None:
        stream = self._stream if self._stream is not None else sys.stdout.buffer
        prefix, suffix = f"\x1b[1;{colour}m[{title}] ".encode(), b"\x1b[0;0m\n"
        for line in iter(process.stdout.readline, b""):
            with _write_lock:
                stream.write(prefix + line.rstrip(b"\n") + suffix)
                stream.flush()
        returncode = process.wait()
        if returncode != 0:
            with self._lock:
                self._crashes.append((time.monotonic(), title, returncode))

    # --------------------------------------------------------------- reporting
    def first_crash(self, wait: float = 5.0) -> Optional[Tuple[str, int]]:
        """(node name, return code) of the first node that ended with a non-zero status, or None.

        ``wait``: how long to give the output threads to see a process that has already ended.
        """
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if self._crashes:
                    _, title, returncode = min(self._crashes)
                    return node_name(title), returncode
            ended_badly = any(process.poll() not in (None, 0) for _, process in self.processes)
            if not ended_badly or time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    @contextlib.contextmanager
    def installed(self) -> Iterator["NodeProcesses"]:
        """Launch with :meth:`launch` instead of Launchpad's current-terminal launcher, inside this block."""
        from launchpad.launch.run_locally import run_locally

        key = run_locally.SEPARATE_TERMINAL_CURRENT_TERMINAL
        original = run_locally._LOCAL_LAUNCHER_MAP[key]
        run_locally._LOCAL_LAUNCHER_MAP[key] = self.launch
        try:
            yield self
        finally:
            run_locally._LOCAL_LAUNCHER_MAP[key] = original
