"""Run control of process-per-node runs: the stop and failure files and the counter handshake.

One module owns how a run ends, so every backend ends runs the same way:

- **Stop file** (``RUN_DIR/.stop_requested``): asks the program to wind down early. The
  launching process writes it on Ctrl-C/SIGTERM; a failing node writes it with its failure.
  The coordinator node sees it and starts the handshake below without a final evaluation.
- **Failure file** (``RUN_DIR/.node_failure.json``): the first failing node records why;
  the launching process raises the error again once the program has stopped
  (:func:`finish_launch`).
- **Counter handshake** (keys in the run's counter): the coordinator asks the evaluator for
  the final evaluation (``FINAL_EVALUATION_REQUESTED``) and waits for it
  (``EVALUATOR_FINISHED``), then asks every node to stop (``STOP_REQUESTED``): executors
  send their last items and close (``EXECUTORS_CLOSED``), the trainer trains on until they
  have, writes its final checkpoint and acknowledges (``TRAINER_STOPPED``). The trainer
  reports when its first step is done (``TRAINER_STARTED``: built, traced, first sample
  tried): a trainer still starting (slow on a loaded machine) gets its grace once it runs,
  so it still writes the final checkpoint. None of these
  keys is saved in checkpoints (:data:`HANDSHAKE_KEYS`).

The Launchpad and Ray backends call :func:`clear_stale_files` before they start the nodes
and :func:`finish_launch` after the program stopped.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable, Dict, Optional

from mava_core.counting import Counter
from mava_core.errors import (
    ExecutorFailedError,
    MavaError,
    NodeCrashedError,
    ReplayUnavailableError,
    TrainingDivergedError,
)
from mava_core.replay_watch import ReplayWatch

# Counter keys of the shutdown handshake (see the module docstring).
FINAL_EVALUATION_REQUESTED = "final_evaluation_requested"
EVALUATOR_FINISHED = "evaluator_finished"
STOP_REQUESTED = "stop_requested"
TRAINER_STARTED = "trainer_started"
TRAINER_STOPPED = "trainer_stopped"
EXECUTORS_CLOSED = "executors_closed"
#: counter keys of the item accounting (counted since the run's processes started, not saved)
ITEMS_WRITTEN = "items_written"  # items the executors' adders created
REPLAY_ITEMS_RECEIVED = "replay_items_received"  # inserts the replay server completed, read after executors closed
#: counter keys never saved in a checkpoint, so a resumed run starts unstopped and counts items afresh
HANDSHAKE_KEYS = (STOP_REQUESTED, TRAINER_STOPPED, EXECUTORS_CLOSED, ITEMS_WRITTEN, REPLAY_ITEMS_RECEIVED,
                  FINAL_EVALUATION_REQUESTED, EVALUATOR_FINISHED, TRAINER_STARTED)

#: how long the coordinator waits for the trainer's acknowledgement after the stop request (once the trainer is up)
SHUTDOWN_GRACE_SECONDS = 30.0
#: how long the coordinator waits for a trainer that is still being built (``TRAINER_STARTED``) before that grace
TRAINER_START_SECONDS = 600.0
#: after a stop request, how long the trainer keeps training while executors send their last items
EXECUTOR_CLOSE_WAIT_SECONDS = 20.0
#: a file in the run directory asking a process-per-node run to stop early (written on Ctrl-C/SIGTERM)
STOP_FILE = ".stop_requested"
#: a file in the run directory where a process-per-node run's first failing node records why
FAILURE_FILE = ".node_failure.json"
#: a file in the run directory where the evaluator leaves its evaluations for the coordinator's summary
EVALUATIONS_FILE = ".evaluations.json"
#: errors a recorded failure is raised as again in the launching process (others become MavaError)
_RECORDED_ERRORS = {cls.__name__: cls for cls in (TrainingDivergedError, ExecutorFailedError, ReplayUnavailableError,
                                                  NodeCrashedError)}


# ------------------------------------------------------------------------------ run files
def stop_file(run_dir: str) -> str:
    """Where a backend or a failing node asks the program's nodes to wind down early."""
    return os.path.join(run_dir, STOP_FILE)


def failure_file(run_dir: str) -> str:
    """Where a node of a process-per-node run records the error that ended the run."""
    return os.path.join(run_dir, FAILURE_FILE)


def evaluations_file(run_dir: str) -> str:
    """Where the evaluator leaves its evaluation rows for the coordinator (see :func:`write_evaluations`)."""
    return os.path.join(run_dir, EVALUATIONS_FILE)


def stop_requested(run_dir: str) -> bool:
    """Whether the stop file exists."""
    return os.path.exists(stop_file(run_dir))


def request_stop(run_dir: str, reason: str) -> None:
    """Write the stop file (``reason``: e.g. a signal number or ``"trainer failed"``)."""
    os.makedirs(run_dir, exist_ok=True)
    with open(stop_file(run_dir), "w") as handle:
        handle.write(reason)


def clear_stale_files(run_dir: str) -> None:
    """Remove the run-control files an earlier, interrupted launch of this run may have left."""
    for path in (stop_file(run_dir), failure_file(run_dir), evaluations_file(run_dir)):
        if os.path.exists(path):
            os.remove(path)


def record_failure(run_dir: str, node: str, error: Exception) -> None:
    """Write why ``node`` failed (the first failure is kept) and ask the program to stop.

    The coordinator sees the stop file and winds the program down (the trainer writes its
    final checkpoint); the launching process then raises the error again (:func:`recorded_failure`).
    """
    path = failure_file(run_dir)
    if not os.path.exists(path):
        record = {"node": node, "type": type(error).__name__, "message": str(error), "mava_error": isinstance(error, MavaError)}
        with open(path, "w") as handle:
            json.dump(record, handle)
    request_stop(run_dir, f"{node} failed")


def recorded_failure(run_dir: str) -> Optional[MavaError]:
    """The error a node recorded before the program stopped (and remove the record), or None."""
    failure = _take_json(failure_file(run_dir))
    if failure is None:
        return None
    if failure["type"] in _RECORDED_ERRORS:
        return _RECORDED_ERRORS[failure["type"]](failure["message"])
    if failure["mava_error"]:
        return MavaError(failure["message"])
    return MavaError(f"the {failure['node']} node failed with {failure['type']}: {failure['message']} (see the node output above)")


def write_evaluations(run_dir: str, history: list) -> None:
    """Leave the evaluator's evaluation rows for the coordinator (written whole, then renamed into place)."""
    path = evaluations_file(run_dir)
    with open(path + ".tmp", "w") as handle:
        json.dump(history, handle)
    os.replace(path + ".tmp", path)


def read_evaluations(run_dir: str) -> Optional[list]:
    """The evaluator's evaluation rows (and remove the file), or None when it left none."""
    return _take_json(evaluations_file(run_dir))


def _take_json(path: str) -> Any:
    """The JSON a node left at ``path``, removing the file; None when there is none."""
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        value = json.load(handle)
    os.remove(path)
    return value


def read_summary(run_dir: str, backend: str, detail: str = "") -> Dict[str, Any]:
    """``RUN_DIR/summary.json``; a program that ended without one is a one-line error."""
    path = os.path.join(run_dir, "summary.json")
    if not os.path.exists(path):
        raise MavaError(f"the {backend} program ended{detail} without writing {path}; see the node output above")
    with open(path) as handle:
        return json.load(handle)


def finish_launch(builder: Any, signals: Any) -> None:
    """After a process-per-node program stopped: remove the stop file, then raise what ended the run early.

    A node's recorded failure comes first (the program stopped cleanly after it), then a
    Ctrl-C/SIGTERM (:class:`~mava_core.errors.RunInterrupted`, saying how to resume).
    """
    from mava_core.interrupts import interrupted_error

    run_dir = builder.run.run_dir
    if stop_requested(run_dir):
        os.remove(stop_file(run_dir))
    if os.path.exists(evaluations_file(run_dir)):
        os.remove(evaluations_file(run_dir))
    failed = recorded_failure(run_dir)
    if failed is not None:
        raise failed
    if signals.requested:
        raise interrupted_error(builder, signals.requested)


# ------------------------------------------------------------------------ in the nodes
def make_counter(builder: Any = None) -> Counter:
    """The run's counter, starting from the resumed checkpoint's counts when there is one."""
    checkpointer = builder.checkpointer if builder is not None else None
    return Counter(checkpointer.initial_counts() if checkpointer is not None else None)


def time_budget(run: Any) -> Callable[[], bool]:
    """Whether ``run.max_seconds`` (if set) have passed since this call; the clock starts here."""
    seconds = float(run.max_seconds or 0.0)
    if seconds <= 0:
        return lambda: False
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


def watch_replay(run_dir: str, address: str, node: str, counter: Any, should_stop: Callable[[], bool]) -> ReplayWatch:
    """Start watching the replay server for ``node`` of a process-per-node run (see :mod:`mava_core.replay_watch`)."""

    def stopping() -> bool:
        return should_stop() or stop_requested(run_dir) or counter.get_counts().get(STOP_REQUESTED, 0) > 0

    return ReplayWatch(address, node, on_lost=lambda error: record_failure(run_dir, node, error), stopping=stopping).start()


def wait_for(condition: Callable[[], bool], seconds: float, give_up: Callable[[], bool] = lambda: False,
             poll: float = 0.2) -> bool:
    """Wait until ``condition()`` (True) or ``seconds`` pass or ``give_up()`` (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not give_up():
        if condition():
            return True
        time.sleep(poll)
    return condition()
