"""What a run does when an executor's environment raises (``run.on_executor_error``).

The debug family injects the fault: ``env.fail_after_steps=N`` makes an environment raise from
its N-th step, ``env.fail_on_seeds`` picks which executors' environments do.
"""
from __future__ import annotations

import json
import logging
import os
import uuid

import pytest
from helpers import LAUNCHPAD_MARKER, node_process_group, processes_with_marker, read_csv

from mava_core import hookimpl
from mava_core.config import RunConfig
from mava_core.errors import ConfigError, ExecutorFailedError, MavaError, NodeCrashedError, ReplayUnavailableError
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder
from mava_plugins.envs.debugging import DebugFamily
from mava_plugins.envs.fault_injection import InjectedFault

EPISODE = 10
OVERRIDES = {"dataset.min_size": 30, "dataset.batch_size": 16, "network.hidden_sizes": "16"}


def faulty_builder(tmp_path, mode, executors=1, env_steps=400, fail_after=45, only_first_executor=True, backend="local", **run):
    """A MADQN run on debug:simple_spread whose executor 0 (or every executor) fails after ``fail_after`` steps."""
    config = RunConfig(
        system="madqn", environment="debug:simple_spread", backend=backend, executors=executors, env_steps=env_steps,
        seed=3, eval_every=env_steps, eval_episodes=2, random_baseline_episodes=0, loggers=("csv",), run_dir=str(tmp_path),
        log_every_seconds=0.0, on_executor_error=mode, eval_env_options={"fail_after_steps": 0}, **run,
    )
    builder = SystemBuilder(config, overrides=OVERRIDES, plugin_manager=PluginManager())
    seeds = [builder.executor_seed(0, evaluation=False)] if only_first_executor else None
    config.env_options = {"max_steps": EPISODE, "fail_after_steps": fail_after, "fail_on_seeds": seeds}
    return builder


def last_checkpoint(run_dir):
    with open(os.path.join(run_dir, "checkpoints", "checkpoint.json")) as handle:
        return json.load(handle)["checkpoints"][-1]


def test_the_injected_fault_fires_on_the_chosen_seeds_only():
    failing = DebugFamily.make("simple_spread", seed=5, max_steps=EPISODE, fail_after_steps=3, fail_on_seeds=[5])
    healthy = DebugFamily.make("simple_spread", seed=6, max_steps=EPISODE, fail_after_steps=3, fail_on_seeds=[5])
    noop = {agent: 0 for agent in failing.multi_agent_spec().agents}
    for env in (failing, healthy):
        env.reset()
        env.step(noop), env.step(noop)
    with pytest.raises(InjectedFault, match="step 3"):
        failing.step(noop)
    assert not healthy.step(noop).last()
    with pytest.raises(ConfigError, match="env.fail_after_steps"):
        DebugFamily.make("simple_spread", fail_after_steps=-1)


def test_restart_gives_the_executor_a_fresh_environment_and_the_run_finishes(tmp_path, caplog):
    builder = faulty_builder(tmp_path, "restart")
    with caplog.at_level(logging.WARNING, logger="mava_core.workers"):
        summary = builder.launch()
    assert summary["env_steps"] >= 400 and summary["executor_failures"] == 1
    warning = "executor_0: the environment raised InjectedFault: injected fault at step 45"
    assert any(warning in message and "restart 1 of run.executor_max_restarts=3" in message for message in caplog.messages)
    # the unfinished fifth episode was dropped; the episodes after the restart are whole
    rows = read_csv(tmp_path / "logs" / "executor_0.csv")
    assert {row["episode_length"] for row in rows} == {str(EPISODE)}
    assert len(rows) == (summary["env_steps"] - 4) // EPISODE  # 44 steps of the failed environment, 4 whole episodes


def test_more_failures_than_restarts_stop_the_run_after_a_final_checkpoint(tmp_path):
    builder = faulty_builder(tmp_path, "restart", fail_after=35, only_first_executor=False, executor_max_restarts=2)
    with pytest.raises(ExecutorFailedError, match=r"failed 3 times, more than run.executor_max_restarts=2\); the run stopped"):
        builder.launch()
    saved = last_checkpoint(tmp_path)
    assert saved["counts"]["env_steps"] == 3 * 34 and saved["counts"]["executor_failures"] == 3


def test_continue_retires_the_failed_executor_and_the_others_finish_the_budget(tmp_path):
    builder = faulty_builder(tmp_path, "continue", executors=2)
    summary = builder.launch()
    assert summary["env_steps"] >= 400 and summary["executor_failures"] == 1
    assert len(read_csv(tmp_path / "logs" / "executor_0.csv")) == 4  # it stopped in its fifth episode
    assert len(read_csv(tmp_path / "logs" / "executor_1.csv")) >= (400 - 44) // EPISODE


def test_continue_stops_when_no_executor_is_left(tmp_path):
    builder = faulty_builder(tmp_path, "continue", executors=2, only_first_executor=False)
    with pytest.raises(ExecutorFailedError, match=r"every executor's environment has failed"):
        builder.launch()


def test_stop_ends_the_run_with_the_environment_error_and_keeps_what_was_learned(tmp_path):
    builder = faulty_builder(tmp_path, "stop")
    with pytest.raises(ExecutorFailedError) as raised:
        builder.launch()
    message = str(raised.value)
    assert "executor_0: the environment raised InjectedFault: injected fault at step 45" in message
    assert "run.on_executor_error=stop" in message
    assert isinstance(raised.value.__cause__, InjectedFault)
    saved = last_checkpoint(tmp_path)
    assert saved["counts"]["env_steps"] == 44 and saved["trainer_steps"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["restart", "stop"])
def test_under_launchpad_a_failing_executor_restarts_or_stops_the_run_and_no_process_survives(tmp_path, mode):
    marker = uuid.uuid4().hex
    os.environ[LAUNCHPAD_MARKER] = marker  # inherited by every node
    try:
        builder = faulty_builder(tmp_path, mode, executors=2, env_steps=600, backend="launchpad")
        if mode == "restart":
            summary = builder.launch()
            assert summary["env_steps"] >= 600 and summary["executor_failures"] == 1
        else:
            with pytest.raises(ExecutorFailedError, match="executor_0: the environment raised InjectedFault"):
                builder.launch()
            assert last_checkpoint(tmp_path)["counts"]["env_steps"] >= 44  # the final checkpoint
    finally:
        os.environ.pop(LAUNCHPAD_MARKER, None)
    assert not processes_with_marker(marker)
    assert not (tmp_path / ".node_failure.json").exists() and not (tmp_path / ".stop_requested").exists()


# ------------------------------------------------------------------ the replay server goes away
class _Client:
    """Answers ``server_info`` while ``up`` is True."""

    def __init__(self):
        self.up = True

    def server_info(self, timeout=None):
        if not self.up:
            raise RuntimeError("unavailable")
        return {}


def test_the_replay_watch_reports_a_silent_server_once_unless_the_program_is_stopping():
    import threading

    from mava_core.errors import ReplayUnavailableError
    from mava_core.replay_watch import ReplayWatch

    client, lost, reported = _Client(), [], threading.Event()

    def on_lost(error):
        lost.append(error)
        reported.set()

    watch = ReplayWatch("localhost:1", "executor_3", on_lost=on_lost, every=0.01, misses=3, client=client).start()
    assert not reported.wait(0.2) and not watch.lost  # answering: nothing to report
    client.up = False
    assert reported.wait(5.0)
    watch.stop()
    assert watch.lost and len(lost) == 1 and isinstance(lost[0], ReplayUnavailableError)
    assert str(lost[0]).startswith("executor_3: the replay server at localhost:1 has not answered")

    quiet = _Client()
    quiet.up = False
    winding_down = ReplayWatch("localhost:1", "trainer", on_lost=on_lost, stopping=lambda: True, every=0.01, client=quiet).start()
    winding_down._thread.join(timeout=5.0)
    assert not winding_down.lost and len(lost) == 1  # expected at the end of a run: not a failure




def _signal_a_node_once_the_trainer_logs(run_dir, marker: str, group: str, signal_number: int, sent: list,
                                         timeout: float = 180.0) -> None:
    """Wait for the trainer's first log rows, then send ``signal_number`` to the ``group`` node's Python process."""
    import time

    import psutil

    log = run_dir / "logs" / "trainer.csv"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (log.exists() and read_csv(log)):
        time.sleep(0.5)
    for process in psutil.process_iter(["pid"]):
        try:
            if node_process_group(process, marker) == group:
                process.send_signal(signal_number)
                sent.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue


def _launch_and_signal_a_node(tmp_path, group: str, signal_number: int, error, match: str) -> None:
    """A Launchpad run with no reachable budget; ``group``'s process gets ``signal_number`` once training runs.

    Without the detection under test the run would go on to its max_seconds and return a summary.
    """
    import threading

    marker = uuid.uuid4().hex
    os.environ[LAUNCHPAD_MARKER] = marker  # inherited by every node
    run = RunConfig(system="madqn", environment="debug:simple_spread", backend="launchpad", executors=2,
                    env_steps=10**9, max_seconds=300, seed=0, eval_every=10**9, eval_episodes=1,
                    random_baseline_episodes=1, loggers=("csv",), run_dir=str(tmp_path))
    sent: list = []
    signaller = threading.Thread(target=_signal_a_node_once_the_trainer_logs, args=(tmp_path, marker, group, signal_number, sent),
                                 daemon=True)
    try:
        builder = SystemBuilder(run, overrides={"network.hidden_sizes": "32,32"}, plugin_manager=PluginManager())
        signaller.start()
        with pytest.raises(error, match=match):
            builder.launch()
    finally:
        os.environ.pop(LAUNCHPAD_MARKER, None)
        signaller.join(timeout=5)
    assert len(sent) == 1
    assert not processes_with_marker(marker)
    assert not (tmp_path / ".node_failure.json").exists() and not (tmp_path / ".stop_requested").exists()


@pytest.mark.slow
def test_under_launchpad_a_replay_server_that_stops_answering_ends_the_run_with_a_clear_error(tmp_path):
    import signal

    # SIGSTOP: the server's process is alive but silent (as when it hangs or its machine is unreachable)
    _launch_and_signal_a_node(tmp_path, "replay", signal.SIGSTOP, ReplayUnavailableError,
                              r"the replay server at \S+:\d+ has not answered for about \d+ s")


@pytest.mark.slow
@pytest.mark.parametrize("node", ["trainer", "replay"])
def test_under_launchpad_a_node_process_that_dies_ends_the_run_naming_the_node(node, tmp_path):
    """The trainer, or the replay server the executors write to and the trainer samples from, is killed."""
    import signal

    _launch_and_signal_a_node(tmp_path, node, signal.SIGKILL, NodeCrashedError,
                              rf"the {node} node's process ended with signal SIGKILL \(9\) before the run did")


class _UnbuildableTrainer:
    @hookimpl
    def mava_trainer_init(self, trainer):
        raise ValueError("this trainer cannot be built")


@pytest.mark.slow
def test_under_launchpad_a_trainer_that_cannot_be_built_ends_the_run_with_its_error(tmp_path):
    """Executors and evaluator wait for the trainer's variables; the trainer's error must still end the run."""
    marker = uuid.uuid4().hex
    os.environ[LAUNCHPAD_MARKER] = marker
    run = RunConfig(system="madqn", environment="debug:simple_spread", backend="launchpad", executors=2,
                    env_steps=10**9, max_seconds=300, seed=0, loggers=("csv",), run_dir=str(tmp_path))
    import sys

    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the plugin travels to the nodes
    try:
        builder = SystemBuilder(run, plugin_manager=PluginManager(), plugins=[_UnbuildableTrainer()])
        with pytest.raises(MavaError, match="the trainer node failed with ValueError: this trainer cannot be built"):
            builder.launch()
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        os.environ.pop(LAUNCHPAD_MARKER, None)
    assert not processes_with_marker(marker)


def test_node_output_is_labelled_and_the_first_process_that_ended_badly_is_named():
    import io
    import subprocess
    import sys

    from mava_plugins.backends.launchpad_nodes import NodeProcesses, describe_status, node_name

    stream = io.BytesIO()
    nodes = NodeProcesses(stream=stream)

    def start(code: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    fine = start("print('first line'); print('second line')")
    nodes.watch("executor/1", fine, 33)
    fine.wait()
    assert nodes.first_crash(wait=1.0) is None  # status 0 is how a node that finished ends
    killed = start("import os, signal; print('going', flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    nodes.watch("trainer/0", killed)
    killed.wait()
    assert nodes.first_crash() == ("trainer", -9)
    raised = start("raise SystemExit(3)")
    nodes.watch("replay/0", raised)
    raised.wait()
    assert nodes.first_crash() == ("trainer", -9)  # still the first: later ones follow from it
    nodes.finish_output()
    output = stream.getvalue().decode()
    assert "\x1b[1;33m[executor/1] first line\x1b[0;0m\n" in output and "[executor/1] second line" in output
    assert "[trainer/0] going" in output
    assert (node_name("executor/1"), node_name("evaluator/0"), node_name("counter/0")) == ("executor_1", "evaluator", "counter")
    assert (describe_status(-9), describe_status(1)) == ("signal SIGKILL (9)", "status 1")


def test_a_trainer_that_cannot_be_built_raises_its_error_again_without_rebuilding():
    """Executors and the evaluator ask the trainer for variables while its run fails to build it."""
    from mava_core.workers import TrainerWorker

    class _Builder:
        checkpointer = None
        builds = 0

        def make_loggers(self, *args, **kwargs):
            return None

        def make_trainer(self, *args):
            self.builds += 1
            raise ValueError("this trainer cannot be built")

    builder = _Builder()
    worker = TrainerWorker(builder, replay_address="localhost:0", counter=None)
    for _ in range(3):  # run() and two get_variables RPCs
        with pytest.raises(ValueError, match="cannot be built"):
            worker.get_variables(["policy"])
    assert builder.builds == 1


def test_the_launchpad_trainer_node_serves_on_after_its_run_until_the_program_stops(monkeypatch):
    """Launchpad stops a courier node's server when its run returns: callers with no deadline would wait forever."""
    import launchpad as lp

    from mava_plugins.backends.launchpad_backend import _ServedUntilStop

    calls = []
    monkeypatch.setattr(lp, "wait_for_stop", lambda *args: calls.append("wait_for_stop"))

    class _Worker:
        rpc_methods = ("get_variables",)

        def run(self):
            calls.append("run")

        def get_variables(self, names):
            return {"policy": names}

    served = _ServedUntilStop(_Worker())
    served.run()
    assert calls == ["run", "wait_for_stop"]
    assert served.get_variables(["x"]) == {"policy": ["x"]}

    class _Crashing(_Worker):
        def run(self):
            raise RuntimeError("uncaught")  # ends the node's process: Launchpad sees it and stops the run

    calls.clear()
    with pytest.raises(RuntimeError, match="uncaught"):
        _ServedUntilStop(_Crashing()).run()
    assert calls == []


@pytest.mark.timeout(60)
def test_a_launcher_that_does_not_stop_after_a_nodes_failure_is_stopped_hard(tmp_path, monkeypatch):
    """A node's failure writes the stop file; whatever then hangs, the launch ends CLEAN_STOP_SECONDS later."""
    import subprocess
    import sys
    import time

    from mava_core.interrupts import StopSignals
    from mava_core.run_control import record_failure, stop_file
    from mava_plugins.backends import launchpad_backend

    monkeypatch.setattr(launchpad_backend, "CLEAN_STOP_SECONDS", 1.0)
    # a launcher stand-in that would never end by itself; SIGINT (the hard stop) ends it. Like
    # the real launcher it raises KeyboardInterrupt on SIGINT whatever it inherited (a CI run's
    # worker had SIGINT ignored, the stand-in with it, and the hard stop never ended it), and it
    # says when that handler is in place, so the SIGINT cannot arrive before it
    stand_in = "import signal, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\nprint('ready', flush=True)\n"
    launcher = subprocess.Popen([sys.executable, "-c", stand_in + "while True: time.sleep(0.1)"], stdout=subprocess.PIPE)
    try:
        assert launcher.stdout.readline() == b"ready\n"  # pytest-timeout bounds this wait
        record_failure(str(tmp_path), "trainer", ValueError("this trainer cannot be built"))
        started = time.monotonic()
        with StopSignals() as signals:
            returncode = launchpad_backend._wait(launcher, signals, stop_file(str(tmp_path)))
        assert returncode != 0 and time.monotonic() - started < 30
    finally:
        launcher.kill()
        launcher.wait()
