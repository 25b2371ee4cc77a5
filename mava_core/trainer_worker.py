"""The trainer node's worker: trains, serves variables, checkpoints, and answers the stop request.

The local backend calls :meth:`TrainerWorker.step` and :meth:`TrainerWorker.maybe_checkpoint`
itself; process-per-node backends call :meth:`TrainerWorker.run`, which trains until the
coordinator's stop request (:mod:`mava_core.run_control`) and acknowledges it after the
final checkpoint.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, Optional

from mava_core.errors import TrainingDivergedError
from mava_core.program import TRAINER
from mava_core.replay_watch import ReplayWatch
from mava_core.run_control import (
    EXECUTOR_CLOSE_WAIT_SECONDS,
    EXECUTORS_CLOSED,
    REPLAY_ITEMS_RECEIVED,
    STOP_REQUESTED,
    TRAINER_STARTED,
    TRAINER_STOPPED,
    record_failure,
    watch_replay,
)

_log = logging.getLogger(__name__)


class TrainerWorker:
    """Owns the trainer; serves its variables to executors and evaluator."""

    #: what other nodes call on it (process-per-node backends serve these and ``run`` only)
    rpc_methods = ("get_variables",)
    #: how often (seconds) a trainer with nothing left to sample looks for the run's stop request
    stop_poll_seconds = 0.5

    def __init__(self, builder: Any, replay_address: str, counter: Any):
        self._builder = builder
        self._replay_address = replay_address
        self._counter = counter
        self._trainer: Any = None
        self._build_lock = threading.Lock()  # RPCs (get_variables) may arrive while run() builds
        self._build_error: Optional[Exception] = None  # why the trainer could not be built
        self._replay_client: Any = None
        self._saved_at: Optional[tuple] = None  # (env steps, trainer steps) of this process's last checkpoint
        self.diverged = False  # a NaN/Inf loss: no checkpoint is written after it
        self.replay_lost = False  # the replay server stopped answering: a checkpoint would wait for it
        self._stop_seen: Optional[float] = None  # when this trainer first saw the run's stop request
        #: set by process-per-node backends: returns True once the program is stopping
        self.should_stop: Callable[[], bool] = lambda: False

    @property
    def trainer(self):
        """The trainer, built on first use; a build that failed raises its error again without a rebuild."""
        with self._build_lock:
            if self._build_error is not None:
                raise self._build_error
            if self._trainer is None:
                try:
                    logger = self._builder.make_loggers("trainer", terminal=False)
                    trainer = self._builder.make_trainer(self._replay_address, self._counter, logger)
                    checkpointer = self._builder.checkpointer
                    if checkpointer is not None:
                        checkpointer.restore_trainer(trainer)
                except Exception as error:
                    self._build_error = error
                    raise
                self._trainer = trainer
        return self._trainer

    def step(self) -> Dict[str, float]:
        try:
            return self.trainer.step()
        except TrainingDivergedError as error:
            self.diverged = True
            raise TrainingDivergedError(f"{error}{self._kept_checkpoint()}") from None

    def _kept_checkpoint(self) -> str:
        checkpointer = self._builder.checkpointer
        latest = checkpointer.latest() if checkpointer is not None else None
        if latest is None:
            return ""
        return f"; the last good checkpoint, {latest['id']}, is kept in {self._builder.run.run_dir}/checkpoints"

    # ------------------------------------------------------------ checkpoints
    def maybe_checkpoint(self, counts: Optional[Dict[str, float]] = None) -> Optional[Dict[str, Any]]:
        """Write a checkpoint when the checkpointer says one is due at these counts."""
        checkpointer = self._builder.checkpointer
        if checkpointer is None:
            return None
        counts = counts if counts is not None else self._counter.get_counts()
        if not checkpointer.due(int(counts.get("env_steps", 0))):
            return None
        return self.checkpoint(counts)

    def checkpoint(self, counts: Optional[Dict[str, float]] = None) -> Optional[Dict[str, Any]]:
        """Write a checkpoint now: trainer variables, optimiser state, counts, replay contents."""
        checkpointer = self._builder.checkpointer
        if checkpointer is None:
            return None
        if self._replay_client is None:
            import reverb

            self._replay_client = reverb.Client(self._replay_address)
        counts = counts if counts is not None else self._counter.get_counts()
        entry = checkpointer.save(self.trainer, counts, self._replay_client)
        self._saved_at = (int(counts.get("env_steps", 0)), self.trainer.steps)
        return entry

    def close(self) -> None:
        """The final checkpoint (unless one was just written at this count or training diverged), then close the logs."""
        if self._builder.checkpointer is not None and not self.diverged and not self.replay_lost:
            counts = self._counter.get_counts()
            if self._saved_at != (int(counts.get("env_steps", 0)), self.trainer.steps):
                try:
                    self.checkpoint(counts)
                except Exception as error:  # noqa: BLE001 - e.g. the replay server already went away
                    _log.warning("final checkpoint not written (the last good one is kept): %s", error)
        if self._trainer is not None and self._trainer.logger is not None:
            self._trainer.logger.close()

    def get_variables(self, names):
        return self.trainer.get_variables(names)

    def _stop_requested(self, counts: Dict[str, float]) -> bool:
        """Stop once the run asked to and every executor has closed (or waiting for them took too long).

        Training on until the executors have closed lets the replay's rate limiter admit the
        items they send last, so the final checkpoint holds everything they collected.
        """
        if self.should_stop():
            return True
        if counts.get(STOP_REQUESTED, 0) <= 0:
            return False
        if self._stop_seen is None:
            self._stop_seen = time.monotonic()
        if counts.get(EXECUTORS_CLOSED, 0) >= self._builder.run.executors:
            return True
        return time.monotonic() - self._stop_seen > EXECUTOR_CLOSE_WAIT_SECONDS

    def _collection_over(self, counts: Dict[str, float]) -> bool:
        """Whether the executors have stopped for good: the step budget is spent or the run asked to stop."""
        return counts.get("env_steps", 0) >= self._builder.run.env_steps or counts.get(STOP_REQUESTED, 0) > 0

    def _wait_for_stop_request(self, watch: ReplayWatch) -> Dict[str, float]:
        """Wait, without sampling, until the run's stop request (and the executors' close) comes; the counts then.

        Once the executors have stopped, the sampler has nothing more to wait for, and the
        iterator is kept as it is: replacing it frees the old one, and freeing a Reverb
        iterator whose samples wait on the rate limiter blocked the trainer for good in 3 of 5
        ``make run`` s with 8 copies per executor and batches of 256 (it never wrote its final
        checkpoint, and the coordinator stopped the run after ``SHUTDOWN_GRACE_SECONDS``).
        """
        counts = self._counter.get_counts()
        while not self._stop_requested(counts) and not watch.lost:
            time.sleep(self.stop_poll_seconds)
            counts = self._counter.get_counts()
        return counts

    def record_replay_inserts(self) -> None:
        """Count the inserts the replay server has completed (the receiving side of the item accounting)."""
        import reverb

        if self._replay_client is None:
            self._replay_client = reverb.Client(self._replay_address)
        info = self._replay_client.server_info(timeout=5)
        received = sum(int(table.rate_limiter_info.insert_stats.completed) for table in info.values())
        self._counter.increment(**{REPLAY_ITEMS_RECEIVED: received})

    def _report_started(self) -> bool:
        """Tell the coordinator the trainer is in its loop: its grace for the final checkpoint starts now."""
        self._counter.increment(**{TRAINER_STARTED: 1})
        return True

    def run(self) -> None:
        """Train until the coordinator asks the program to wind down, then acknowledge it."""
        watch = watch_replay(self._builder.run.run_dir, self._replay_address, "trainer", self._counter, self.should_stop)
        try:
            self._run(watch)
        finally:
            watch.stop()

    def _run(self, watch: ReplayWatch) -> None:
        try:
            trainer = self.trainer
        except Exception as error:  # noqa: BLE001 - e.g. a checkpoint that does not fit
            record_failure(self._builder.run.run_dir, "trainer", error)
            self._counter.increment(**{TRAINER_STOPPED: 1})
            return
        counts: Dict[str, float] = {}
        started = False
        while not self._stop_requested(counts) and not watch.lost:
            try:
                self.step()
                counts = trainer.last_counts
            except StopIteration:
                # sampling timed out: the executors paused, or they have finished
                counts = self._counter.get_counts()
                if self._collection_over(counts):
                    counts = self._wait_for_stop_request(watch)
                    continue
                hooks = self._builder.hooks_for(self._builder.node_context("trainer", TRAINER))
                trainer.iterator = hooks.mava_dataset_iterator(builder=self._builder, server_address=self._replay_address)
            except Exception as error:  # noqa: BLE001 - reported by the backend, after a clean stop
                record_failure(self._builder.run.run_dir, "trainer", error)
                break
            if not watch.lost:
                self.maybe_checkpoint(counts)
            if not started:  # the first step (tracing, the dataset's first sample) is done: the stop is seen quickly now
                started = self._report_started()
        if not started:
            self._report_started()
        self.replay_lost = watch.lost
        if not self.replay_lost and not self.should_stop():
            try:
                self.record_replay_inserts()
            except Exception as error:  # noqa: BLE001 - accounting only; the final checkpoint matters more
                _log.warning("could not read the replay server's insert count: %s", error)
        self.close()
        self._counter.increment(**{TRAINER_STOPPED: 1})
