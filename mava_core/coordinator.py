"""The coordinator node: decides when a run ends and winds its nodes down in order.

As in Acme's distributed layouts, ending a run is one small node's only job. Under
process-per-node backends its ``run()`` watches the step budget (``run.env_steps``), the
time budget (``run.max_seconds``) and the stop file (Ctrl-C/SIGTERM, a failed node), then
runs the handshake of :mod:`mava_core.run_control`: the evaluator's final evaluation (not
after an early stop), the stop request the executors and the trainer answer (the trainer's
final checkpoint), the summary, and finally the backend's ``stop`` callable. The local
backend asks :meth:`CoordinatorWorker.run_over` after each round and
:meth:`CoordinatorWorker.summarise` at the end.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

from mava_core import run_control as rc
from mava_core.run_summary import write_summary

#: how long the coordinator waits for the evaluator's final evaluation before it stops the run without a summary
FINAL_EVALUATION_SECONDS = 900.0


class CoordinatorWorker:
    """Ends the run: budgets, early stops, the shutdown handshake and ``summary.json``."""

    #: polling interval of ``run`` (seconds)
    poll_seconds = 0.5

    def __init__(self, builder: Any, counter: Any, stop: Callable[[], None]):
        self._builder = builder
        self._counter = counter
        self._stop = stop
        self._out_of_time: Optional[Callable[[], bool]] = None
        #: True once the run was asked to stop early (the stop file): no final evaluation, no summary
        self.interrupted = False
        #: set by process-per-node backends: returns True once the program is stopping
        self.should_stop: Callable[[], bool] = lambda: False

    def run_over(self, env_steps: int) -> bool:
        """Whether the step budget is spent or ``run.max_seconds`` have passed (the clock starts at the first call)."""
        if self._out_of_time is None:
            self._out_of_time = rc.time_budget(self._builder.run)
        return env_steps >= self._builder.run.env_steps or self._out_of_time()

    def summarise(self, history: List[Dict[str, float]]) -> Dict[str, Any]:
        """Random baseline and ``summary.json`` at the counter's counts now (the last evaluation is the final one)."""
        return write_summary(self._builder, history[-1], history, self._counter.get_counts())

    def _counts(self) -> Dict[str, float]:
        return self._counter.get_counts()

    def _wait_for_run_end(self) -> None:
        run_dir = self._builder.run.run_dir
        while not self.should_stop():
            if rc.stop_requested(run_dir):
                self.interrupted = True  # Ctrl-C/SIGTERM or a failed node: the trainer checkpoints, then everything stops
                return
            if self.run_over(int(self._counts().get("env_steps", 0))):
                return
            time.sleep(self.poll_seconds)

    def _final_evaluation(self) -> Optional[List[Dict[str, float]]]:
        """Ask the evaluator for the final evaluation and wait for it; its rows, or None (stopped early meanwhile)."""
        run_dir = self._builder.run.run_dir
        self._counter.increment(**{rc.FINAL_EVALUATION_REQUESTED: 1})
        done = rc.wait_for(
            lambda: self._counts().get(rc.EVALUATOR_FINISHED, 0) > 0,
            FINAL_EVALUATION_SECONDS,
            give_up=lambda: self.should_stop() or rc.stop_requested(run_dir),
            poll=self.poll_seconds,
        )
        return rc.read_evaluations(run_dir) if done else None

    def _wait_for_trainer(self) -> None:
        """Wait for the trainer's acknowledgement: ``SHUTDOWN_GRACE_SECONDS`` once it is up (it may still be building)."""
        counts = self._counts
        rc.wait_for(lambda: counts().get(rc.TRAINER_STARTED, 0) > 0 or counts().get(rc.TRAINER_STOPPED, 0) > 0,
                    rc.TRAINER_START_SECONDS, give_up=self.should_stop)
        rc.wait_for(lambda: counts().get(rc.TRAINER_STOPPED, 0) > 0, rc.SHUTDOWN_GRACE_SECONDS, give_up=self.should_stop)

    def run(self) -> Optional[Dict[str, Any]]:
        """Wait for the end of the run, wind every node down in order, write the summary, stop the program.

        Returns the summary (None after an early stop). In order: the final evaluation, then
        the stop request (executors send their last items and close, the trainer trains on
        until they have, checkpoints and acknowledges), then the summary (its counts hold
        every executor's last steps and the item accounting), then the backend's ``stop``.
        """
        self._wait_for_run_end()
        history = None
        if not self.should_stop() and not self.interrupted:
            history = self._final_evaluation()
        self._counter.increment(**{rc.STOP_REQUESTED: 1})
        self._wait_for_trainer()
        summary = None
        if history and not self.should_stop():
            summary = self.summarise(history)
        self._stop()
        return summary
