"""Run control in one process: the coordinator's handshake, the run files, backend traits.

The coordinator runs in a thread against an in-process counter while small stand-ins play
the evaluator and the trainer's side of the handshake, so the order of the wind-down and
what reaches ``summary.json`` are checked in well under a second each.
"""
from __future__ import annotations

import json
import threading
import types

import pytest

from mava_core import run_control as rc
from mava_core.config import RunConfig
from mava_core.coordinator import CoordinatorWorker
from mava_core.counting import Counter
from mava_core.errors import MavaError, PluginError, TrainingDivergedError
from mava_core.run_context import BackendTraits, backend_traits

#: every wait below ends within this many seconds, or the test fails
DEADLINE = 20.0


def _coordinator(tmp_path, counter, **run):
    settings = {"env_steps": 100, "random_baseline_episodes": 0, **run}
    builder = types.SimpleNamespace(run=RunConfig(system="madqn", environment="debug:two_step", run_dir=str(tmp_path),
                                                  **settings))
    stops = []
    coordinator = CoordinatorWorker(builder, counter, stop=lambda: stops.append(dict(counter.get_counts())))
    coordinator.poll_seconds = 0.01
    return coordinator, stops


def _in_thread(function):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()), daemon=True)
    thread.start()
    return thread, result


def _answer(counter, key, respond):
    """Wait (with a deadline) until ``key`` is in the counter, then call ``respond``."""
    assert rc.wait_for(lambda: counter.get(key) > 0, DEADLINE, poll=0.01), f"never asked: {key}"
    respond()


def test_the_coordinator_ends_a_run_at_its_budget_in_order_and_writes_the_summary(tmp_path):
    counter = Counter({"env_steps": 0})
    coordinator, stops = _coordinator(tmp_path, counter)
    thread, result = _in_thread(coordinator.run)
    assert counter.get(rc.FINAL_EVALUATION_REQUESTED) == 0  # the budget is not spent yet
    counter.increment(env_steps=100, episodes=4, trainer_steps=30, items_written=100)
    history = [{"env_steps": 0, "mean_return": 1.0, "std_return": 0.0},
               {"env_steps": 100, "mean_return": 3.0, "std_return": 0.5}]

    def evaluator_done():
        assert counter.get(rc.STOP_REQUESTED) == 0  # the final evaluation comes before the stop request
        rc.write_evaluations(str(tmp_path), history)
        counter.increment(**{rc.EVALUATOR_FINISHED: 1})

    _answer(counter, rc.FINAL_EVALUATION_REQUESTED, evaluator_done)
    _answer(counter, rc.STOP_REQUESTED, lambda: counter.increment(**{rc.TRAINER_STOPPED: 1, rc.REPLAY_ITEMS_RECEIVED: 100}))
    thread.join(DEADLINE)
    assert not thread.is_alive()
    summary = result["value"]
    assert stops and stops[0][rc.TRAINER_STOPPED] == 1  # the program stops after the trainer acknowledged
    with open(tmp_path / "summary.json") as handle:
        assert json.load(handle) == summary
    assert (summary["env_steps"], summary["episodes"], summary["trainer_steps"]) == (100, 4, 30)
    assert (summary["items_written"], summary["replay_items_received"]) == (100, 100)
    assert (summary["final_mean_return"], summary["best_mean_return"], summary["random_return"]) == (3.0, 3.0, None)
    assert summary["evaluations"] == history and not (tmp_path / rc.EVALUATIONS_FILE).exists()


def test_the_stop_file_ends_the_run_without_a_final_evaluation_or_summary(tmp_path):
    counter = Counter({"env_steps": 10})
    coordinator, stops = _coordinator(tmp_path, counter)
    thread, result = _in_thread(coordinator.run)
    rc.request_stop(str(tmp_path), "15")  # SIGTERM at the launching process
    _answer(counter, rc.STOP_REQUESTED, lambda: counter.increment(**{rc.TRAINER_STOPPED: 1}))
    thread.join(DEADLINE)
    assert result["value"] is None and coordinator.interrupted and len(stops) == 1
    assert counter.get(rc.FINAL_EVALUATION_REQUESTED) == 0 and not (tmp_path / "summary.json").exists()


def test_max_seconds_ends_the_run_like_its_budget(tmp_path):
    counter = Counter({"env_steps": 10})
    coordinator, _ = _coordinator(tmp_path, counter, max_seconds=0.2)
    thread, _ = _in_thread(coordinator.run)
    _answer(counter, rc.FINAL_EVALUATION_REQUESTED, lambda: coordinator.__setattr__("should_stop", lambda: True))
    thread.join(DEADLINE)
    assert not thread.is_alive() and counter.get(rc.STOP_REQUESTED) == 1


def test_a_recorded_failure_is_raised_again_after_the_stop_and_the_files_are_cleared(tmp_path):
    run_dir = str(tmp_path)
    rc.record_failure(run_dir, "trainer", TrainingDivergedError("loss became NaN"))
    rc.record_failure(run_dir, "executor_0", ValueError("later"))  # the first failure is kept
    assert rc.stop_requested(run_dir)
    builder = types.SimpleNamespace(run=types.SimpleNamespace(run_dir=run_dir))
    with pytest.raises(TrainingDivergedError, match="loss became NaN"):
        rc.finish_launch(builder, types.SimpleNamespace(requested=None))
    assert not rc.stop_requested(run_dir) and rc.recorded_failure(run_dir) is None
    rc.record_failure(run_dir, "executor_1", ValueError("boom"))
    rc.write_evaluations(run_dir, [])
    rc.clear_stale_files(run_dir)  # what an interrupted launch left
    assert not any(tmp_path.iterdir())
    with pytest.raises(MavaError, match="the Launchpad program ended without writing"):
        rc.read_summary(run_dir, "Launchpad")


def test_a_backend_declares_its_traits_or_is_refused_naming_it():
    class Declared:
        traits = BackendTraits(name="declared", interleaves_nodes=True)

    assert backend_traits(Declared, "declared").interleaves_nodes is True

    class Undeclared:
        interleaves_nodes = True  # the old probe is not read

    with pytest.raises(PluginError, match="backend 'undeclared' .* declares no traits"):
        backend_traits(Undeclared, "undeclared")


def test_a_trainer_still_being_built_gets_its_grace_once_it_is_up(tmp_path, monkeypatch):
    """On a loaded machine the trainer may still be building when a node fails: its final checkpoint must not be cut off."""
    monkeypatch.setattr(rc, "SHUTDOWN_GRACE_SECONDS", 0.3)
    counter = Counter({"env_steps": 10})
    coordinator, stops = _coordinator(tmp_path, counter)
    thread, _ = _in_thread(coordinator.run)
    rc.record_failure(str(tmp_path), "executor_0", ValueError("the environment raised"))
    assert rc.wait_for(lambda: counter.get(rc.STOP_REQUESTED) > 0, DEADLINE, poll=0.01)
    thread.join(1.0)  # longer than the grace: the trainer has not started, so the coordinator waits on
    assert thread.is_alive() and not stops
    counter.increment(**{rc.TRAINER_STARTED: 1})
    thread.join(0.1)
    assert thread.is_alive() and not stops  # the grace runs from the trainer's start
    counter.increment(**{rc.TRAINER_STOPPED: 1})
    thread.join(DEADLINE)
    assert not thread.is_alive() and stops[0][rc.TRAINER_STOPPED] == 1


class _TimingOutTrainer:
    """A trainer whose sampling always times out (the iterator ends), as once every executor has stopped."""

    last_counts: dict = {}
    logger = None
    steps = 0

    def __init__(self):
        self.iterator = "the first iterator"

    def step(self):
        raise StopIteration


def _trainer_worker(tmp_path, counter, trainer):
    from mava_core.trainer_worker import TrainerWorker

    rebuilt = []
    hooks = types.SimpleNamespace(mava_dataset_iterator=lambda **kwargs: rebuilt.append(kwargs) or "a new iterator")
    builder = types.SimpleNamespace(
        run=RunConfig(system="madqn", environment="debug:two_step", run_dir=str(tmp_path), env_steps=100, executors=2),
        checkpointer=None, make_loggers=lambda *args, **kwargs: None, make_trainer=lambda *args: trainer,
        hooks_for=lambda context: hooks, node_context=lambda *args: None,
    )
    worker = TrainerWorker(builder, replay_address="localhost:0", counter=counter)
    worker.stop_poll_seconds = 0.01
    worker.record_replay_inserts = lambda: None  # no replay server here
    return worker, rebuilt


@pytest.mark.parametrize("env_steps", [100, 50])
def test_a_trainer_with_nothing_left_to_sample_waits_for_the_stop_without_replacing_its_iterator(tmp_path, env_steps):
    """Freeing a Reverb iterator whose samples wait on the rate limiter could block for good, losing the final
    checkpoint: once the budget is spent (or the run asked to stop) a timed-out sampler is kept, not replaced."""
    counter = Counter({"env_steps": env_steps})
    trainer = _TimingOutTrainer()
    worker, rebuilt = _trainer_worker(tmp_path, counter, trainer)
    watch = types.SimpleNamespace(lost=False)
    if env_steps < 100:  # mid-run, executors paused: the iterator is replaced, training goes on
        thread, _ = _in_thread(lambda: worker._run(watch))
        assert rc.wait_for(lambda: len(rebuilt) >= 2, DEADLINE, poll=0.01)
        counter.increment(**{rc.STOP_REQUESTED: 1})
    else:
        thread, _ = _in_thread(lambda: worker._run(watch))
        thread.join(0.3)
        assert thread.is_alive() and counter.get(rc.TRAINER_STOPPED) == 0  # waits for the stop request
        counter.increment(**{rc.STOP_REQUESTED: 1})
    thread.join(0.3)
    assert thread.is_alive()  # and then for the executors to close
    rebuilt_before_close = len(rebuilt)
    counter.increment(**{rc.EXECUTORS_CLOSED: 2})
    thread.join(DEADLINE)
    assert not thread.is_alive() and counter.get(rc.TRAINER_STOPPED) == 1
    if env_steps == 100:
        assert rebuilt == [] and trainer.iterator == "the first iterator"
    else:
        assert len(rebuilt) == rebuilt_before_close  # no replacement once the run asked to stop
