"""The workers behind a program's nodes, shared by every backend.

Each worker offers fine-grained calls (``step``, ``act``, ``evaluate``) that the local
backend interleaves in one process, and a ``run()`` loop that process-per-node backends
(Launchpad, Ray) call. Workers build their parts lazily from the builder, inside the process
that runs them.
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from mava_core.counting import Counter
from mava_core.environment_state import EnvironmentStateKeeper
from mava_core.errors import (
    EnvironmentFailure,
    ExecutorFailedError,
    MavaError,
    NodeCrashedError,
    ReplayUnavailableError,
    TrainingDivergedError,
)
from mava_core.replay_watch import ReplayWatch

# Counter keys of the shutdown handshake: the evaluator requests, the trainer acknowledges.
STOP_REQUESTED = "stop_requested"
TRAINER_STOPPED = "trainer_stopped"
SHUTDOWN_GRACE_SECONDS = 30.0
#: counter keys of the item accounting (counted since the run's processes started, not saved)
ITEMS_WRITTEN = "items_written"  # items the executors' adders created
REPLAY_ITEMS_RECEIVED = "replay_items_received"  # inserts the replay server completed, read after executors closed
EXECUTORS_CLOSED = "executors_closed"
#: after a stop request, how long the trainer keeps training while executors send their last items
EXECUTOR_CLOSE_WAIT_SECONDS = 20.0
#: a file in the run directory asking a process-per-node run to stop early (written on Ctrl-C/SIGTERM)
STOP_FILE = ".stop_requested"
#: a file in the run directory where a process-per-node run's first failing node records why
FAILURE_FILE = ".node_failure.json"
#: errors a recorded failure is raised as again in the launching process (others become MavaError)
_RECORDED_ERRORS = {cls.__name__: cls for cls in (TrainingDivergedError, ExecutorFailedError, ReplayUnavailableError,
                                                  NodeCrashedError)}

_log = logging.getLogger(__name__)


def failure_file(run_dir: str) -> str:
    """Where a node of a process-per-node run records the error that ended the run."""
    return os.path.join(run_dir, FAILURE_FILE)


def record_failure(run_dir: str, node: str, error: Exception) -> None:
    """Write why ``node`` failed (the first failure is kept) and ask the program to stop.

    The evaluator sees the stop file and winds the program down (the trainer writes its final
    checkpoint); the launching process then raises the error again (:func:`recorded_failure`).
    """
    path = failure_file(run_dir)
    if not os.path.exists(path):
        record = {"node": node, "type": type(error).__name__, "message": str(error), "mava_error": isinstance(error, MavaError)}
        with open(path, "w") as handle:
            json.dump(record, handle)
    with open(stop_file(run_dir), "w") as handle:
        handle.write(f"{node} failed")


def recorded_failure(run_dir: str) -> Optional[MavaError]:
    """The error a node recorded before the program stopped (and remove the record), or None."""
    path = failure_file(run_dir)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        failure = json.load(handle)
    os.remove(path)
    if failure["type"] in _RECORDED_ERRORS:
        return _RECORDED_ERRORS[failure["type"]](failure["message"])
    if failure["mava_error"]:
        return MavaError(failure["message"])
    return MavaError(f"the {failure['node']} node failed with {failure['type']}: {failure['message']} (see the node output above)")


def stop_file(run_dir: str) -> str:
    """Where a backend asks the program's nodes to wind down early (see ``EvaluatorWorker.run``)."""
    return os.path.join(run_dir, STOP_FILE)


def watch_replay(builder: Any, address: str, node: str, counter: Any, should_stop: Callable[[], bool]) -> ReplayWatch:
    """Start watching the replay server for ``node`` of a process-per-node run (see :mod:`mava_core.replay_watch`)."""
    run_dir = builder.run.run_dir

    def stopping() -> bool:
        return should_stop() or os.path.exists(stop_file(run_dir)) or counter.get_counts().get(STOP_REQUESTED, 0) > 0

    return ReplayWatch(address, node, on_lost=lambda error: record_failure(run_dir, node, error), stopping=stopping).start()


def time_budget(builder: Any) -> Callable[[], bool]:
    """Whether ``run.max_seconds`` (if set) have passed since this call; the clock starts here."""
    seconds = float(getattr(builder.run, "max_seconds", 0.0) or 0.0)
    if seconds <= 0:
        return lambda: False
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


def make_counter(builder: Any = None) -> Counter:
    """The run's counter, starting from the resumed checkpoint's counts when there is one."""
    checkpointer = builder.checkpointer if builder is not None else None
    return Counter(checkpointer.initial_counts() if checkpointer is not None else None)


class TrainerWorker:
    """Owns the trainer; serves its variables to executors and evaluator."""

    #: what other nodes call on it (process-per-node backends serve these and ``run`` only)
    rpc_methods = ("get_variables",)

    def __init__(self, builder: Any, replay_address: str, counter: Any):
        self._builder = builder
        self._replay_address = replay_address
        self._counter = counter
        self._trainer = None
        self._build_lock = threading.Lock()  # RPCs (get_variables) may arrive while run() builds
        self._build_error: Optional[Exception] = None  # why the trainer could not be built
        self._replay_client = None
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

    def record_replay_inserts(self) -> None:
        """Count the inserts the replay server has completed (the receiving side of the item accounting)."""
        import reverb

        if self._replay_client is None:
            self._replay_client = reverb.Client(self._replay_address)
        info = self._replay_client.server_info(timeout=5)
        received = sum(int(table.rate_limiter_info.insert_stats.completed) for table in info.values())
        self._counter.increment(**{REPLAY_ITEMS_RECEIVED: received})

    def run(self) -> None:
        """Train until the evaluator asks the program to wind down, then acknowledge it."""
        watch = watch_replay(self._builder, self._replay_address, "trainer", self._counter, self.should_stop)
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
        while not self._stop_requested(counts) and not watch.lost:
            try:
                self.step()
                counts = trainer.last_counts
            except StopIteration:
                # sampling timed out (executors paused or finished): check for stop, then retry
                counts = self._counter.get_counts()
                trainer.iterator = self._builder.hooks.mava_dataset_iterator(
                    builder=self._builder, server_address=self._replay_address
                )
            except Exception as error:  # noqa: BLE001 - reported by the backend, after a clean stop
                record_failure(self._builder.run.run_dir, "trainer", error)
                break
            if not watch.lost:
                self.maybe_checkpoint(counts)
        self.replay_lost = watch.lost
        if not self.replay_lost and not self.should_stop():
            try:
                self.record_replay_inserts()
            except Exception as error:  # noqa: BLE001 - accounting only; the final checkpoint matters more
                _log.warning("could not read the replay server's insert count: %s", error)
        self.close()
        self._counter.increment(**{TRAINER_STOPPED: 1})


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
        self._watch = watch = watch_replay(self._builder, self._replay_address, node, self._counter, self.should_stop)
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
    """Runs greedy evaluation episodes every ``eval_every`` env steps and writes the run summary."""

    def __init__(self, builder: Any, variable_source: Any, counter: Any, stop: Callable[[], None]):
        self._builder = builder
        self._variable_source = variable_source
        self._counter = counter
        self._stop = stop
        self._loop = None
        self._logger = None
        self.history: List[Dict[str, float]] = []
        self.next_evaluation = 0
        #: True once the run was asked to stop early (``stop_file``): no final evaluation then
        self.interrupted = False
        self.should_stop: Callable[[], bool] = lambda: False
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
        results = [loop.run_episode() for _ in range(self._builder.run.eval_episodes)]
        summary = {
            "env_steps": env_steps,
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
        if self.history and self.history[-1]["env_steps"] == env_steps:
            return self.history[-1]
        return self.evaluate(env_steps)

    def summarise(self, final: Dict[str, float]) -> Dict[str, Any]:
        """Random baseline and summary.json at the counter's counts now; closes the evaluator's log."""
        summary = write_summary(self._builder, final, self.history, self._counter.get_counts())
        if self._logger is not None:
            self._logger.close()
        return summary

    def finish(self, env_steps: int) -> Dict[str, Any]:
        """Final evaluation, random baseline, summary.json (the local backend, after every other node closed)."""
        return self.summarise(self.final_evaluation(env_steps))

    def run(self) -> None:
        budget = self._builder.run.env_steps
        requested = stop_file(self._builder.run.run_dir)
        out_of_time = time_budget(self._builder)
        env_steps = 0
        while not self.should_stop():
            if os.path.exists(requested):
                self.interrupted = True  # Ctrl-C/SIGTERM: the trainer checkpoints, then everything stops
                break
            env_steps = int(self._counter.get_counts().get("env_steps", 0))
            if env_steps >= budget or out_of_time():
                break
            if self.maybe_evaluate(env_steps) is None:
                time.sleep(0.5)
        final = None
        if not self.should_stop() and not self.interrupted:
            final = self.final_evaluation(env_steps)
        elif self._logger is not None:
            self._logger.close()
        # wind down in order: executors send their last items and close, the trainer trains on
        # until they have, checkpoints and acknowledges; then the summary (its counts now hold
        # every executor's last steps and the item accounting), then stop all
        self._counter.increment(**{STOP_REQUESTED: 1})
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        while time.monotonic() < deadline and not self._counter.get_counts().get(TRAINER_STOPPED):
            time.sleep(0.2)
        if final is not None and not self.should_stop():
            self.summarise(final)
        self._stop()


def summarise_episodes(results: List[Dict[str, Any]]) -> Dict[str, float]:
    """Mean, spread and extremes of the return over episode results, and the mean of each metric."""
    returns = np.array([r["episode_return"] for r in results])
    summary = {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "max_return": float(returns.max()),
        "min_return": float(returns.min()),
        "mean_team_return": float(np.mean([r["team_return"] for r in results])),
        "mean_episode_length": float(np.mean([r["episode_length"] for r in results])),
    }
    for key in results[0]:
        if key not in ("episode_return", "team_return", "episode_length", "steps_per_second", "episodes", "env_steps"):
            values = [r[key] for r in results if isinstance(r.get(key), (int, float, np.number))]  # numpy metrics too
            if values:
                summary[f"mean_{key}"] = float(np.mean(values))
    return summary


def random_policy_return(builder: Any, episodes: int) -> Optional[float]:
    """Mean per-agent episode return of uniformly random legal actions on the run's task."""
    if episodes <= 0:
        return None
    from mava_core.specs import AgentObservation  # noqa: F401 - documents the observation type

    spec = builder.env_spec
    # the evaluator's environment (run.eval_env_options), so the two returns compare like for like
    environment = builder.make_environment(builder.executor_seed(0, evaluation=True) + 1, **builder.run.eval_env_options)
    rng = np.random.default_rng(builder.run.seed + 7)
    returns = []
    for _ in range(episodes):
        timestep = environment.reset()
        totals = {agent: 0.0 for agent in spec.agents}
        while not timestep.last():
            actions = {}
            for agent, agent_spec in spec.agents.items():
                if agent_spec.discrete:
                    mask = np.asarray(timestep.observation[agent].action_mask)
                    legal = np.flatnonzero(mask > 0) if mask.any() else np.arange(agent_spec.num_actions)
                    actions[agent] = np.int32(rng.choice(legal))
                else:
                    low, high = agent_spec.action.minimum, agent_spec.action.maximum
                    actions[agent] = rng.uniform(low, high, agent_spec.action.shape).astype(np.float32)
            timestep = environment.step(actions)
            for agent, reward in timestep.reward.items():
                totals[agent] += float(reward)
        returns.append(np.mean(list(totals.values())))
    environment.close()
    return float(np.mean(returns))


def write_summary(builder: Any, final: Dict[str, float], history: List[Dict[str, float]], counts: Dict[str, float]) -> Dict[str, Any]:
    summary = {
        "system": builder.run.system,
        "environment": builder.run.environment,
        "backend": builder.run.backend,
        "seed": builder.run.seed,
        "env_steps": int(counts.get("env_steps", 0)),
        "trainer_steps": int(counts.get("trainer_steps", 0)),
        "episodes": int(counts.get("episodes", 0)),
        "executor_failures": int(counts.get("executor_failures", 0)),
        # the item accounting since the processes started: what the executors' adders created
        # and what the replay server received (None where the trainer could not read it)
        ITEMS_WRITTEN: int(counts.get(ITEMS_WRITTEN, 0)),
        REPLAY_ITEMS_RECEIVED: int(counts[REPLAY_ITEMS_RECEIVED]) if REPLAY_ITEMS_RECEIVED in counts else None,
        "final_mean_return": final["mean_return"],
        "final_std_return": final["std_return"],
        "best_mean_return": max(h["mean_return"] for h in history),
        "random_return": random_policy_return(builder, builder.run.random_baseline_episodes),
        "evaluations": history,
    }
    path = os.path.join(builder.run.run_dir, "summary.json")
    os.makedirs(builder.run.run_dir, exist_ok=True)
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=2)
    return summary
