"""What runs inside the Ray backend's actors, and the clients other actors reach them through.

Each program node becomes one actor hosting what the node's factory makes: the Reverb
server (:class:`ReplayHost`), the counter (:class:`CounterHost`) or a worker with a
``run()`` loop (:class:`WorkerHost`: trainer, executors, evaluator, custom nodes). Workers
see the counter and the trainer through :class:`CounterClient` and
:class:`VariableSourceClient`, which offer the same calls as the in-process objects, so
worker code runs unchanged. Ray is imported inside the functions: this module is loaded in
actor processes, where Ray is always present.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, Optional

from mava_core.program import COORDINATOR, TRAINER
from mava_core.run_control import request_stop


def placement() -> Dict[str, Any]:
    """Where the calling actor runs: Ray node id, node IP and process id."""
    import ray

    return {"node_id": ray.get_runtime_context().get_node_id(), "ip": ray.util.get_node_ip_address(), "pid": os.getpid()}


def _prepare_process(env: Dict[str, str], cpu_only: bool, threads: Optional[int]) -> None:
    """Environment variables, device visibility, log level and TensorFlow threads of this actor."""
    from mava_plugins.backends.launchpad_backend import _limit_threads, _quiet

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if cpu_only:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.update({key: str(value) for key, value in env.items()})
    _quiet()
    if threads:
        _limit_threads(threads)


class _Host:
    """Base of every actor class: a node name for Ray's log prefixes, and where it runs."""

    name = "node"

    def placement(self) -> Dict[str, Any]:
        return placement()

    def __repr__(self) -> str:  # Ray prefixes the actor's output with this
        return self.name


class ReplayHost(_Host):
    """Serves the program's Reverb tables on this Ray node, on ``port`` (0: a free one)."""

    def __init__(self, name: str, make_tables: Callable[[], Any], port: int, builder: Any, env: Dict[str, str]):
        import ray
        import reverb

        self.name = name
        _prepare_process(env, cpu_only=True, threads=None)
        checkpointer = getattr(builder, "checkpointer", None)
        replay_checkpointer = checkpointer.replay_checkpointer() if checkpointer is not None else None
        self._server = reverb.Server(make_tables(), port=port or None, checkpointer=replay_checkpointer)
        # the node's address as the cluster knows it, so executors on other machines reach it
        self._address = f"{ray.util.get_node_ip_address()}:{self._server.port}"

    def address(self) -> str:
        return self._address

    def stop(self) -> None:
        self._server.stop()


class CounterHost(_Host):
    """The program's counter, and the flag that tells the driver the program asked to stop."""

    def __init__(self, name: str, make: Callable[[], Any], env: Dict[str, str]):
        self.name = name
        _prepare_process(env, cpu_only=True, threads=None)
        self._counter = make()
        self._stop_requested = False

    def increment(self, **deltas: float) -> Dict[str, float]:
        return self._counter.increment(**deltas)

    def get_counts(self) -> Dict[str, float]:
        return self._counter.get_counts()

    def get(self, key: str, default: float = 0) -> float:
        return self._counter.get(key, default)

    def request_program_stop(self) -> None:
        self._stop_requested = True

    def program_stop_requested(self) -> bool:
        return self._stop_requested


class CounterClient:
    """The counter actor behind the ``Counter`` interface (``increment``, ``get_counts``, ``get``)."""

    def __init__(self, handle: Any):
        self._handle = handle

    def increment(self, **deltas: float) -> Dict[str, float]:
        import ray

        return ray.get(self._handle.increment.remote(**deltas))

    def get_counts(self) -> Dict[str, float]:
        import ray

        return ray.get(self._handle.get_counts.remote())

    def get(self, key: str, default: float = 0) -> float:
        import ray

        return ray.get(self._handle.get.remote(key, default))


class VariableSourceClient:
    """The trainer actor as a variable source (``get_variables(names)``), as under Launchpad."""

    def __init__(self, handle: Any):
        self._handle = handle

    def get_variables(self, names):
        import ray

        return ray.get(self._handle.get_variables.remote(list(names)))


class ProgramStop:
    """The ``stop`` callable given to workers: asks the driver to wind the program down."""

    def __init__(self, counter_handle: Any):
        self._handle = counter_handle

    def __call__(self) -> None:
        import ray

        ray.get(self._handle.request_program_stop.remote())


class WorkerHost(_Host):
    """Runs one worker (trainer, executor, evaluator or custom node) in this actor.

    The actor is threaded: ``run()`` occupies one thread while ``get_variables`` (the
    trainer serving executors) and ``request_stop`` (the driver winding down) are served
    by others. ``should_stop`` of the worker becomes true once ``request_stop`` was called.
    """

    def __init__(
        self,
        name: str,
        role: str,
        make: Callable[..., Any],
        kwargs: Dict[str, Any],
        env: Dict[str, str],
        cpu_only: bool,
        threads: Optional[int],
        run_dir: str,
    ):
        self.name = name
        self._role = role
        self._run_dir = run_dir
        _prepare_process(env, cpu_only, threads)
        self._stopping = threading.Event()
        self.worker = make(**kwargs)
        self.worker.should_stop = self._stopping.is_set
        if role == TRAINER:
            _ = self.worker.trainer  # build it before serving variables, so a failure names this node

    def run(self) -> Optional[Dict[str, Any]]:
        """The worker's whole life; the coordinator returns the summary it wrote on this node."""
        result = self.worker.run()
        return result if self._role == COORDINATOR else None

    def get_variables(self, names):
        return self.worker.get_variables(names)

    def request_stop(self) -> None:
        self._stopping.set()

    def request_early_stop(self, signal_number: int) -> None:
        """Ctrl-C/SIGTERM at the driver: the stop file, on this node, where the coordinator looks."""
        request_stop(self._run_dir, str(signal_number))
