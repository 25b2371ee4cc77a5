"""Runs a program under Launchpad, one process per node, and stops when the budget is spent.

Node wiring: the replay node is a :class:`~mava_plugins.backends.launchpad_replay.ReplayServerNode`
(Reverb in a process of its own; with ``run.backend_options.replay_in_trainer=true`` the
trainer's process serves replay instead); counter, trainer, executors, evaluator, coordinator
and custom nodes are ``lp.CourierNode`` s whose handles other nodes call over RPC (the trainer
is the executors' variable source). The launcher that builds the program imports neither
Reverb nor TensorFlow: only the nodes do. The coordinator ends the run
(:mod:`mava_core.coordinator`): after the final evaluation and the trainer's final
checkpoint it writes the summary and calls ``lp.stop()``, which ends every process; the
launcher waits for them.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import signal
import subprocess
import sys
import time
from typing import Any, Dict, Optional

from mava_core import config as cfg
from mava_core.config import bounded
from mava_core.errors import NodeCrashedError
from mava_core.interrupts import StopSignals
from mava_core.program import COORDINATOR, COUNTER, CUSTOM, EVALUATOR, EXECUTOR, REPLAY, TRAINER, Program, check_program
from mava_core.run_context import BackendTraits
from mava_core.run_control import (
    SHUTDOWN_GRACE_SECONDS,
    clear_stale_files,
    finish_launch,
    read_summary,
    record_failure,
    request_stop,
    stop_file,
    stop_requested,
)
from mava_plugins.backends.launchpad_nodes import NodeProcesses, describe_status

# Acting processes are single-threaded: several share the machine with the trainer.
ACTOR_THREADS = 1
#: Every node process starts with TensorFlow 2 behaviour switched on. TensorFlow's Python
#: package sets ``TF2_BEHAVIOR=1`` only when it is imported, and a node loads TensorFlow's C++
#: library earlier (Courier links it). Nodes used to inherit the variable from a launcher that
#: had imported TensorFlow; without it, the trainer's first compiled step fails (its optimiser's
#: slot variables are made in the traced graph: "... is out of scope and cannot be used here").
TF2_FROM_START = {"TF2_BEHAVIOR": "1"}


def _limit_threads(threads: int) -> None:
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process
        pass


def _stop_program() -> None:
    import launchpad as lp

    lp.stop()


def _quiet() -> None:
    from absl import logging

    logging.set_verbosity(logging.WARNING)


def _replay_checkpointer(builder):
    """The replay server's Reverb checkpointer (it restores a resumed run's replay), or None."""
    checkpointer = builder.checkpointer if builder is not None else None
    return checkpointer.replay_checkpointer() if checkpointer is not None else None


class _Served:
    """What a courier node serves of a worker: ``run`` and the worker's ``rpc_methods``, nothing else.

    Launchpad's courier server looks up every attribute of the object it serves (and binds
    the callable ones as remote methods), so serving a worker itself would evaluate its lazy
    properties (``TrainerWorker.trainer``, ``ExecutorWorker.loop``) while the server is made,
    outside ``run``'s error handling, and expose every public method.
    """

    def __init__(self, worker: Any):
        self.run = worker.run
        for name in getattr(type(worker), "rpc_methods", ()):
            setattr(self, name, getattr(worker, name))


def _with_stop_check(worker, served: type = _Served):
    """Give ``worker`` a ``should_stop`` that any of its threads may call; return what the node serves (a ``served``).

    Launchpad keeps its worker manager in a thread-local, so ``lp.stop_event()`` raises
    outside the node's main thread (where this runs): the event is looked up here, once, and
    its ``is_set`` handed over (the replay watch calls it from its own thread).
    """
    import launchpad as lp

    worker.should_stop = lp.stop_event().is_set
    return served(worker)


class _ServedUntilStop(_Served):
    """Serves the worker's RPC methods after its ``run`` has returned, until the program stops.

    Launchpad stops a courier node's server when ``run`` returns. Other nodes call the
    trainer (``get_variables``) with no deadline, so a trainer whose ``run`` ended early (it
    could not be built, or training failed) would leave them waiting for a server that never
    comes back; kept up, it answers them (with the trainer's error) while the run winds down.
    """

    def __init__(self, worker: Any):
        super().__init__(worker)
        self._run_worker = worker.run
        self.run = self._run_then_serve

    def _run_then_serve(self) -> None:
        import launchpad as lp

        self._run_worker()  # an error it raises ends the node's process: Launchpad then stops the run
        lp.wait_for_stop()


def _trainer_node(make, replay_address, counter):
    _quiet()
    return _with_stop_check(make(replay_address=replay_address, counter=counter), _ServedUntilStop)


def _trainer_with_replay_node(make, make_tables, make_checkpointer, counter, replay_address):
    """The trainer's node when it also serves replay: the server starts first, then the trainer."""
    from mava_plugins.backends.launchpad_replay import start_replay_server

    _quiet()
    server = start_replay_server(make_tables, make_checkpointer, replay_address)
    served = _with_stop_check(make(replay_address=f"localhost:{server.port}", counter=counter), _ServedUntilStop)
    served._replay_server = server  # serves for as long as the node's process lives
    return served


def _actor_node(make, replay_address, variable_source, counter):
    _quiet()
    _limit_threads(ACTOR_THREADS)
    worker = make(replay_address=replay_address, variable_source=variable_source, counter=counter, stop=_stop_program)
    return _with_stop_check(worker)


def _evaluator_node(make, variable_source, counter):
    _quiet()
    _limit_threads(ACTOR_THREADS)
    return _with_stop_check(make(variable_source=variable_source, counter=counter, stop=_stop_program))


def _coordinator_node(make, counter):
    _quiet()  # no TensorFlow here: the coordinator only polls the counter and writes the summary
    return _with_stop_check(make(counter=counter, stop=_stop_program))


@dataclasses.dataclass
class LaunchpadOptions:
    """Options of the Launchpad backend: ``run.backend_options.KEY=VALUE``."""

    replay_in_trainer: bool = bounded(
        False,
        help="serve Reverb replay from the trainer's process instead of a process of its own "
        "(one process and one TensorFlow start-up fewer; one machine)",
    )


class LaunchpadBackend:
    name = "launchpad"
    traits = BackendTraits(name="launchpad", interleaves_nodes=False)
    Config = LaunchpadOptions

    def build(self, program: Program, builder: Any = None):
        """The Launchpad program for a Mava program, and the per-group process settings."""
        import launchpad as lp
        from launchpad.nodes.python.local_multi_processing import PythonProcess

        from mava_plugins.backends.launchpad_replay import ReplayServerNode, TrainerWithReplayNode

        check_program(program)
        options = cfg.backend_options(builder.run, type(self)) if builder is not None else LaunchpadOptions()
        lp_program = lp.Program(program.name)
        replay_node, counter_node, trainer_node = (program.required(role) for role in (REPLAY, COUNTER, TRAINER))
        evaluator_node, coordinator_node = program.required(EVALUATOR), program.required(COORDINATOR)
        make_checkpointer = functools.partial(_replay_checkpointer, builder)
        if not options.replay_in_trainer:
            with lp_program.group(replay_node.name):
                replay = lp_program.add_node(ReplayServerNode(replay_node.make, make_checkpointer))
        with lp_program.group(counter_node.name):
            counter = lp_program.add_node(lp.CourierNode(counter_node.make))
        with lp_program.group(trainer_node.name):
            if options.replay_in_trainer:
                serving = TrainerWithReplayNode(
                    _trainer_with_replay_node, trainer_node.make, replay_node.make, make_checkpointer, counter
                )
                replay = serving.create_replay_handle()
                trainer = lp_program.add_node(serving)
            else:
                trainer = lp_program.add_node(lp.CourierNode(_trainer_node, trainer_node.make, replay, counter))
        with lp_program.group("executor"):
            for node in program.by_role(EXECUTOR):
                lp_program.add_node(lp.CourierNode(_actor_node, node.make, replay, trainer, counter))
        with lp_program.group(evaluator_node.name):
            lp_program.add_node(lp.CourierNode(_evaluator_node, evaluator_node.make, trainer, counter))
        with lp_program.group(coordinator_node.name):
            lp_program.add_node(lp.CourierNode(_coordinator_node, coordinator_node.make, counter))
        for node in program.by_role(CUSTOM):
            with lp_program.group(node.name):
                lp_program.add_node(lp.CourierNode(_actor_node, node.make, replay, trainer, counter))
        cpu_only = {"CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2", **TF2_FROM_START}
        resources = {  # MAVA_NODE_GROUP names each node's process (e.g. in `ps e`)
            group: PythonProcess(env={**cpu_only, NODE_GROUP_VARIABLE: group, **{k: str(v) for k, v in node_env(program, group).items()}})
            for group in lp_program.groups
        }
        return lp_program, resources

    def launch(self, program: Program, builder: Any) -> Dict[str, Any]:
        """Run the program in a launcher child process and return the summary it leaves.

        The launcher runs in its own session so that, whatever happens to it (Launchpad kills
        its whole runtime when a node does not stop in time), this process survives, reports,
        and removes every process of the run: none is left behind. Ctrl-C or SIGTERM here
        asks the nodes to stop cleanly (the trainer writes a final checkpoint first) and
        raises :class:`~mava_core.errors.RunInterrupted`.
        """
        import cloudpickle

        os.makedirs(builder.run.run_dir, exist_ok=True)
        payload = os.path.join(builder.run.run_dir, PROGRAM_FILE)
        clear_stale_files(builder.run.run_dir)  # left by an earlier, interrupted launch of this run
        with open(payload, "wb") as handle:
            cloudpickle.dump((program, builder), handle)
        command = [sys.executable, "-m", "mava_plugins.backends.launchpad_backend", payload]
        with StopSignals() as signals:
            # unbuffered: node output reaches a log file as it happens, not when a buffer fills
            launcher = subprocess.Popen(command, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
            try:
                returncode = _wait(launcher, signals, stop_file(builder.run.run_dir))
            finally:
                _kill_session(launcher.pid)
                os.remove(payload)
        finish_launch(builder, signals)  # a node's recorded failure, or the signal, is raised here
        return read_summary(builder.run.run_dir, "Launchpad", f" (launcher exit status {returncode})")


PROGRAM_FILE = ".launchpad_program.pkl"
#: set in the environment of each node's process to its Launchpad group (the node's name; "executor" for executors)
NODE_GROUP_VARIABLE = "MAVA_NODE_GROUP"


#: how long a clean stop may take (final evaluation episode, trainer step, checkpoint) before a hard one
CLEAN_STOP_SECONDS = SHUTDOWN_GRACE_SECONDS + 60.0


def _wait(launcher: subprocess.Popen, signals: StopSignals, requested: str) -> int:
    """Wait for the launcher.

    A first Ctrl-C or SIGTERM (recorded by ``signals``) writes the stop file: the coordinator
    sees it, the trainer writes its final checkpoint, and the program stops itself. A node
    that fails writes the same file (:func:`~mava_core.run_control.record_failure`). A second
    Ctrl-C, or a clean stop that takes longer than ``CLEAN_STOP_SECONDS`` after the stop file
    appeared, whoever wrote it, asks the launcher to stop its nodes at once (Launchpad's own
    Ctrl-C path): a node stuck waiting on one that has gone can never hold the run open.
    """
    asked: Optional[float] = None
    while True:
        try:
            return launcher.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
        except KeyboardInterrupt:
            return _hard_stop(launcher)
        if asked is None:
            run_dir = os.path.dirname(requested)
            if signals.requested and not stop_requested(run_dir):
                request_stop(run_dir, str(signals.requested))
            if stop_requested(run_dir):  # asked by a signal here, or by a node that failed
                asked = time.monotonic()
        if asked is not None and time.monotonic() - asked > CLEAN_STOP_SECONDS:
            return _hard_stop(launcher)


def _hard_stop(launcher: subprocess.Popen) -> int:
    launcher.send_signal(signal.SIGINT)
    try:
        return launcher.wait(timeout=60)
    except subprocess.TimeoutExpired:
        return -signal.SIGKILL


def _kill_session(session_id: int) -> None:
    """Kill every process left in the launcher's session (its nodes included)."""
    import psutil

    leftovers = []
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getsid(process.pid) == session_id:
                leftovers.append(process)
        except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            continue
    for process in leftovers:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(leftovers, timeout=10)


def run_launcher(payload: str) -> int:
    """The launcher process: build the Launchpad program, launch it and wait for it to stop."""
    import cloudpickle
    import launchpad as lp

    with open(payload, "rb") as handle:
        program, _builder = cloudpickle.load(handle)
    lp_program, resources = LaunchpadBackend().build(program, _builder)
    nodes = NodeProcesses()
    with nodes.installed():
        manager = lp.launch(
            lp_program,
            launch_type=lp.LaunchType.LOCAL_MULTI_PROCESSING,
            terminal="current_terminal",
            local_resources=resources,
            serialize_py_nodes=False,
        )
    try:
        manager.wait()
    except RuntimeError as error:  # a node's process ended badly before the program stopped; Launchpad stops the rest
        _record_crash(_builder.run.run_dir, nodes, error)
        manager.wait(raise_error=False)
        return 1
    finally:
        nodes.finish_output()
    return 0


def _record_crash(run_dir: str, nodes: NodeProcesses, error: Exception) -> None:
    """Record, by node name, the crash Launchpad saw (unless a node recorded why the run ended first)."""
    crash = nodes.first_crash()
    if crash is None:
        failure = NodeCrashedError(f"a node's process ended before the run did ({error}); see the node output above")
    else:
        node, returncode = crash
        failure = NodeCrashedError(
            f"the {node} node's process ended with {describe_status(returncode)} before the run did "
            "(a crash, the out-of-memory killer, a signal, or an uncaught error: see its output above); "
            "the other nodes were stopped and the last checkpoint is kept"
        )
    record_failure(run_dir, "launcher", failure)


def node_env(program: Program, group: str) -> Dict[str, Any]:
    """Extra environment variables a node asked for through ``Node.resources['env']``."""
    env: Dict[str, Any] = {}
    for node in program.nodes:
        if node.name == group or (group == "executor" and node.role == EXECUTOR):
            env.update(node.resources.get("env", {}))
    return env


__all__ = ["LaunchpadBackend"]


if __name__ == "__main__":
    # the hard stop is a SIGINT: make sure it raises here even if this process inherited SIGINT
    # ignored (a parent started in the background by a shell, or from a thread without handlers)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(run_launcher(sys.argv[1]))
