"""The workers behind a program's trainer, executor and evaluator nodes, shared by every backend.

Each worker offers fine-grained calls (``step``, ``act``, ``evaluate``) that the local
backend interleaves in one process, and a ``run()`` loop that process-per-node backends
(Launchpad, Ray) call. Workers build their parts lazily from the builder, inside the process
that runs them. How a run ends (the stop and failure files, the counter handshake) is
:mod:`mava_core.run_control`'s; the node that ends it is :mod:`mava_core.coordinator`'s.
"""
from __future__ import annotations

import inspect
import logging
import time
from typing import Any, Callable, Dict, List, Optional

from mava_core.environment_state import EnvironmentStateKeeper
from mava_core.errors import EnvironmentFailure, ExecutorFailedError
from mava_core.replay_watch import ReplayWatch
from mava_core.run_control import (
    EVALUATOR_FINISHED,
    EXECUTORS_CLOSED,
    FINAL_EVALUATION_REQUESTED,
    ITEMS_WRITTEN,
    STOP_REQUESTED,
    record_failure,
    watch_replay,
    write_evaluations,
)
from mava_core.run_summary import summarise_episodes
from mava_core.trainer_worker import TrainerWorker

__all__ = ["TrainerWorker", "ExecutorWorker", "EvaluatorWorker"]

_log = logging.getLogger(__name__)


class ExecutorWorker:
    """Acts in its own environment and writes experience until the run's step budget is spent."""

    #: steps between counter updates (an RPC under Launchpad); the run's counter can lag the
    #: steps actually taken by up to this many per executor when the summary reads it
    count_every = 50
    #: how long a closing executor waits for the replay server to confirm its last items
    close_flush_seconds = 15.0

    def __init__(self, builder: Any, index: int, replay_address: str, variable_source: Any, counter: Any, stop: Callable[[], None]):
        self._builder = builder
        self.index = index
        self._replay_address = replay_address
        self._variable_source = variable_source
        self._counter = counter
        self._stop = stop
        self._loop = None
        self._pending_steps = 0
        self._pending_episodes = 0
        self._items_reported = 0  # of the adders' items_written, what the counter has been told
        self.env_steps = 0  # the run's total, as last read from the counter
        self.stop_requested = False  # the run is winding down early, as last read from the counter
        self.should_stop: Callable[[], bool] = lambda: False
        self.failures = 0  # times this executor's environment raised
        self.retired = False  # stopped acting after a failure (run.on_executor_error=continue)
        self._watch: Optional[ReplayWatch] = None  # process-per-node runs: is the replay server answering?
        self._state_keeper: Optional[EnvironmentStateKeeper] = None  # saves the environments' carried-over state
        self._flushes: List[Callable[..., None]] = []  # the copies' adders' flush(should_stop), set with the loop

    @property
    def loop(self):
        if self._loop is None:
            self._loop, executor = self._builder.make_executor(self.index, self._replay_address, self._variable_source)
            self._loop.logger = self._builder.make_loggers(f"executor_{self.index}", terminal=self.index == 0)
            for copy_executor in self._loop.executors:  # one per environment copy (run.envs_per_executor)
                if copy_executor.adder is not None:
                    copy_executor.adder.should_stop = self._budget_spent_or_stopping
            # adders whose flush can give up (flush(should_stop)); others are not waited for
            self._flushes = [
                flush for flush in (getattr(e.adder, "flush", None) for e in self._loop.executors)
                if flush is not None and "should_stop" in inspect.signature(flush).parameters
            ]
            checkpointer = self._builder.checkpointer
            if checkpointer is not None:
                self._state_keeper = EnvironmentStateKeeper(checkpointer, f"executor_{self.index}")
                if self._builder.resume_from:  # e.g. normalisation statistics continue where they were
                    self._state_keeper.restore(self.environments())
            # exploration continues from the run's count (a resumed run's, not zero)
            self.env_steps = int(self._counter.get_counts().get("env_steps", 0))
            executor.policy.set_step(self.env_steps)
            executor.update(wait=True)
        return self._loop

    def environments(self) -> List[Any]:
        """This executor's environments, one per copy (``run.envs_per_executor``)."""
        return [loop.environment for loop in getattr(self.loop, "loops", [self.loop])]

    def _save_environment_state(self, force: bool = False) -> None:
        if self._state_keeper is not None:
            self._state_keeper.maybe_save(self.environments(), force=force)

    def _budget_spent_or_stopping(self) -> bool:
        """Whether a write blocked by the rate limiter should be abandoned."""
        if self.should_stop() or (self._watch is not None and self._watch.lost):
            return True
        counts = self._counter.get_counts()
        self.stop_requested = counts.get(STOP_REQUESTED, 0) > 0  # ends run() after this step
        return counts.get("env_steps", 0) >= self._builder.run.env_steps or self.stop_requested

    def items_written(self) -> int:
        """Items this executor's adders have created (summed over environment copies)."""
        if self._loop is None:
            return 0
        return sum(int(getattr(e.adder, "items_written", 0)) for e in self._loop.executors if e.adder is not None)

    def _flush_counts(self) -> None:
        items = self.items_written()
        deltas = {"env_steps": self._pending_steps, "episodes": self._pending_episodes}
        if items != self._items_reported:
            deltas[ITEMS_WRITTEN] = items - self._items_reported
        counts = self._counter.increment(**deltas)
        self._pending_steps = self._pending_episodes = 0
        self._items_reported = items
        self.env_steps = int(counts.get("env_steps", 0))
        self.stop_requested = counts.get(STOP_REQUESTED, 0) > 0
        self.loop.executor.policy.set_step(self.env_steps)

    def act(self, num_steps: int) -> List[Dict[str, Any]]:
        """Take ``num_steps`` steps of every environment copy; returns the results of episodes that ended.

        One step of K copies (``run.envs_per_executor``) counts K environment steps.
        """
        loop = self.loop
        results = []
        for _ in range(num_steps):
            if self.retired:
                break
            taken = loop.steps
            try:
                ended = loop.step_batch()
            except EnvironmentFailure as failure:
                self._pending_steps += loop.steps - taken  # the copies that stepped before one failed
                self._environment_failed(failure)
                continue
            self._pending_steps += loop.steps - taken
            if ended:
                self._pending_episodes += len(ended)
                self._flush_counts()
                for result in ended:
                    result["env_steps"] = self.env_steps
                    if loop.logger is not None:
                        loop.logger.write(result)
                results.extend(ended)
                self._save_environment_state()
            elif self._pending_steps >= self.count_every:
                self._flush_counts()
        return results

    def _environment_failed(self, failure: EnvironmentFailure) -> None:
        """Report the failure, then restart the environment, retire this executor, or stop the run."""
        run = self._builder.run
        self.failures += 1
        self._counter.increment(executor_failures=1)
        if run.on_executor_error == "restart" and self.failures <= run.executor_max_restarts:
            _log.warning("%s; restarting it in a fresh environment (restart %d of run.executor_max_restarts=%d)",
                         failure, self.failures, run.executor_max_restarts)
            failure.loop.replace_environment()
            return
        if run.on_executor_error == "continue":
            retired = int(self._counter.increment(executors_retired=1).get("executors_retired", 0))
            if retired < run.executors:
                _log.warning("%s; this executor stops and the run continues with the other %d (run.on_executor_error=continue)",
                             failure, run.executors - retired)
                self.retired = True
                return
            reason = "every executor's environment has failed (run.on_executor_error=continue)"
        elif run.on_executor_error == "restart":
            reason = f"it failed {self.failures} times, more than run.executor_max_restarts={run.executor_max_restarts}"
        else:
            reason = "run.on_executor_error=stop"
        raise ExecutorFailedError(f"{failure} ({reason}); the run stopped") from failure.error

    def run(self) -> None:
        budget = self._builder.run.env_steps
        node = f"executor_{self.index}"
        self._watch = watch = watch_replay(self._builder.run.run_dir, self._replay_address, node, self._counter, self.should_stop)
        try:
            while (self.env_steps < budget and not self.stop_requested and not self.should_stop()
                   and not self.retired and not watch.lost):
                self.act(1)
        except ExecutorFailedError as error:
            record_failure(self._builder.run.run_dir, node, error)
        finally:
            watch.stop()
        self.close()

    def flush_items(self) -> None:
        """Wait (at most ``close_flush_seconds``) until the replay server holds every item written."""
        deadline = time.monotonic() + self.close_flush_seconds

        def give_up() -> bool:
            return self.should_stop() or (self._watch is not None and self._watch.lost) or time.monotonic() > deadline

        for flush in self._flushes:
            flush(should_stop=give_up)

    def close(self) -> None:
        """Send the last items, report the last counts (unless the program is already stopping:
        the counter may be gone), save the environments' state, close the logs."""
        if self._loop is not None and not self.should_stop():
            try:
                self.flush_items()
            except Exception as error:  # noqa: BLE001 - e.g. the replay server is gone; the counts say what was written
                _log.warning("executor_%d could not send its last items: %s", self.index, error)
        if not self.should_stop():
            if self._pending_steps or self._pending_episodes or self.items_written() != self._items_reported:
                self._flush_counts()
            self._counter.increment(**{EXECUTORS_CLOSED: 1})
        if self._loop is not None:
            try:
                self._save_environment_state(force=True)
            except Exception as error:  # noqa: BLE001 - closing must go on; the last periodic save stays
                _log.warning("executor_%d could not save its environments' state: %s", self.index, error)
        if self._loop is not None and self._loop.logger is not None:
            self._loop.logger.close()
        if self._loop is not None:
            self._loop.close()  # closes the environments, e.g. frees a game server's slots for the random baseline


class EvaluatorWorker:
    """Runs greedy evaluation episodes every ``eval_every`` env steps and the final evaluation."""

    def __init__(self, builder: Any, variable_source: Any, counter: Any, stop: Callable[[], None]):
        self._builder = builder
        self._variable_source = variable_source
        self._counter = counter
        self._stop = stop
        self._loop = None
        self._logger = None
        self.history: List[Dict[str, float]] = []
        self.next_evaluation = 0
        self.should_stop: Callable[[], bool] = lambda: False
        self._final = False  # the final evaluation plays run.eval_episodes whatever eval_episodes_while_training says
        resumed = builder.resume_from
        if resumed:
            # a resumed run keeps its earlier evaluations and its evaluation schedule
            env_steps = int(resumed["counts"].get("env_steps", 0))
            every = builder.run.eval_every
            self.next_evaluation = (env_steps // every + 1) * every
            checkpointer = builder.checkpointer
            if checkpointer is not None:
                self.history = [row for row in checkpointer.previous_evaluations() if row["env_steps"] <= env_steps]

    @property
    def loop(self):
        if self._loop is None:
            self._loop, _ = self._builder.make_executor(0, None, self._variable_source, evaluation=True)
            self._logger = self._builder.make_loggers("evaluator")
        return self._loop

    def evaluate(self, env_steps: int) -> Dict[str, float]:
        loop = self.loop
        loop.executor.update(wait=True)
        run = self._builder.run
        episodes = run.eval_episodes if self._final or not run.eval_episodes_while_training else run.eval_episodes_while_training
        results = [loop.run_episode() for _ in range(episodes)]
        summary = {
            "env_steps": env_steps,
            "eval_episodes": episodes,
            "trainer_steps": int(self._counter.get_counts().get("trainer_steps", 0)),
            **summarise_episodes(results),
        }
        self.history.append(summary)
        self._logger.write(summary)
        return summary

    def maybe_evaluate(self, env_steps: int) -> Optional[Dict[str, float]]:
        if env_steps >= self.next_evaluation:
            self.next_evaluation = (env_steps // self._builder.run.eval_every + 1) * self._builder.run.eval_every
            return self.evaluate(env_steps)
        return None

    def final_evaluation(self, env_steps: int) -> Dict[str, float]:
        """The final evaluation (unless one just ran at this step count)."""
        last = self.history[-1] if self.history else None
        if last is not None and last["env_steps"] == env_steps and last.get("eval_episodes") == self._builder.run.eval_episodes:
            return last
        self._final = True
        return self.evaluate(env_steps)

    def close(self) -> None:
        """Close the evaluator's log."""
        if self._logger is not None:
            self._logger.close()

    def run(self) -> None:
        """Evaluate every ``eval_every`` env steps until the coordinator asks for the final evaluation or a stop.

        The final evaluation's rows go to the coordinator through the run directory
        (:func:`~mava_core.run_control.write_evaluations`); an early stop gets none.
        """
        budget = self._builder.run.env_steps
        while not self.should_stop():
            counts = self._counter.get_counts()
            if counts.get(STOP_REQUESTED, 0) > 0:
                break
            env_steps = int(counts.get("env_steps", 0))
            if counts.get(FINAL_EVALUATION_REQUESTED, 0) > 0:
                self.final_evaluation(env_steps)
                write_evaluations(self._builder.run.run_dir, self.history)
                self._counter.increment(**{EVALUATOR_FINISHED: 1})
                break
            # past the budget the coordinator is about to ask for the final evaluation: no extra one
            if env_steps >= budget or self.maybe_evaluate(env_steps) is None:
                time.sleep(0.5)
        self.close()
