"""Runs a program on a Ray cluster: one actor per node, placed by resource requests.

The replay server, counter, trainer, executors, evaluator, coordinator and custom nodes
become Ray actors (``ray_nodes``); executors reach Reverb at the replay node's IP and port and pull
variables from the trainer actor, as they do under Launchpad. Without an address the
backend starts a local Ray instance (this machine's CPUs, no dashboard, loopback only) and
shuts it down at the end; with ``address`` it joins a running cluster.

The program ends when the coordinator has written the summary and asked to stop (the same
counter handshake as under Launchpad, :mod:`mava_core.run_control`), when any actor fails
(the error names the node), or on Ctrl-C/SIGTERM (the coordinator sees the stop file, the trainer writes its final
checkpoint, then everything stops; a second Ctrl-C stops at once). Every actor is killed
at the end, whatever happened.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from mava_core import config as cfg
from mava_core.config import bounded
from mava_core.errors import ConfigError, MavaError, MissingDependencyError
from mava_core.interrupts import StopSignals
from mava_core.program import (
    COORDINATOR,
    COUNTER,
    CUSTOM,
    EVALUATOR,
    EXECUTOR,
    REPLAY,
    TRAINER,
    Node,
    Program,
    check_program,
)
from mava_core.run_context import BackendTraits
from mava_core.run_control import SHUTDOWN_GRACE_SECONDS, clear_stale_files, failure_file, finish_launch, read_summary

#: the IP a local Ray instance uses: loopback (Ray replaces 127.0.0.1 by the network address)
LOCAL_NODE_IP = "127.0.0.2"
#: the share of a custom resource one executor takes, so many executors fit on one marked node
PLACEMENT_SHARE = 0.01
#: threads of every non-trainer actor's TensorFlow (the trainer keeps TensorFlow's default)
ACTOR_THREADS = 1
#: file in the run directory: on which Ray node and process every program node ran
PLACEMENT_FILE = "ray_nodes.json"


@dataclasses.dataclass
class RayOptions:
    """Options of the Ray backend: ``run.backend_options.KEY=VALUE`` (``--ray-address`` sets ``address``)."""

    address: Optional[str] = bounded(None, help="Ray cluster to join (head host:port); none starts a local Ray instance")
    trainer_cpus: float = bounded(1.0, minimum=0.0, help="CPUs the trainer actor asks for")
    trainer_gpus: Optional[float] = bounded(None, minimum=0.0, help="GPUs for the trainer; none: 1 when the cluster has one")
    executor_cpus: float = bounded(0.25, minimum=0.0, help="CPUs each executor (and custom node) asks for")
    evaluator_cpus: float = bounded(0.25, minimum=0.0, help="CPUs the evaluator asks for")
    replay_cpus: float = bounded(0.25, minimum=0.0, help="CPUs the Reverb replay server asks for")
    executor_resources: Tuple[str, ...] = bounded(
        (), help="custom Ray resources placing executors: executor i asks for a share of resource i mod N"
    )
    replay_port: int = bounded(0, minimum=0, maximum=65535, help="Reverb's port; 0 picks a free one")
    start_timeout: float = bounded(180.0, minimum=1.0, help="seconds for every actor to start")


class NodeFailed(MavaError):
    """A program node's actor raised or died; the message names the node and the Ray node."""


def import_ray():
    try:
        import ray
    except ImportError as error:
        raise MissingDependencyError("ray", "ray", "backend 'ray'") from error
    return ray


def describe_error(error: BaseException) -> str:
    """One line for a Ray error: the remote exception's type and message, or why the actor died."""
    import ray.exceptions

    if isinstance(error, ray.exceptions.RayTaskError):
        cause = error.cause
        return f"{type(cause).__name__}: {cause}".splitlines()[0]
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if isinstance(error, ray.exceptions.RayActorError) and error.actor_init_failed and lines:
        return lines[-1]  # the creation task's exception, after its traceback
    return lines[0] if lines else type(error).__name__


class RayBackend:
    """Ray: every node an actor, on a local instance or a cluster (``--ray-address``)."""

    name = "ray"
    #: Ray assigns each actor the GPUs its ``node.resources["ray"]["num_gpus"]`` asks for
    traits = BackendTraits(name="ray", interleaves_nodes=False, schedules_gpus=True)
    Config = RayOptions

    def launch(self, program: Program, builder: Any) -> Dict[str, Any]:
        options = cfg.backend_options(builder.run, type(self))
        ray = import_ray()
        # every node writes where the driver does (on its own machine: use a shared filesystem)
        builder.run.run_dir = os.path.abspath(builder.run.run_dir)
        clear_stale_files(builder.run.run_dir)  # left by an earlier, interrupted launch
        connected_here = not ray.is_initialized()
        if connected_here:
            _connect(ray, options)
        run = _RayProgram(ray, program, builder, options)
        try:
            with StopSignals() as signals:
                summary = run.run(signals)
        finally:
            run.kill()
            if connected_here:
                _shutdown(ray)
        finish_launch(builder, signals)  # a node's recorded failure (the program stopped cleanly first), or the signal
        return summary


#: how long the processes of a local Ray instance get to exit after ``ray.shutdown()`` before they are killed
LOCAL_SHUTDOWN_SECONDS = 15.0


def _shutdown(ray: Any) -> None:
    """``ray.shutdown()``, then wait until the Ray processes this one started have exited.

    ``ray.shutdown()`` stops a local instance's GCS and raylet, but processes they started
    (the dashboard agent, actor workers) exit on their own a moment later. A launch returns
    only when they are gone: each gets up to ``LOCAL_SHUTDOWN_SECONDS``, then is killed. On a
    cluster (``--ray-address``) this process started none, and nothing is waited for.
    """
    try:
        import psutil
    except ImportError:  # psutil comes with the launchpad extra; without it, shut down without waiting
        ray.shutdown()
        return
    started = [process for process in psutil.Process().children(recursive=True) if _is_ray_process(process)]
    ray.shutdown()
    _, alive = psutil.wait_procs(started, timeout=LOCAL_SHUTDOWN_SECONDS)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5.0)


def _is_ray_process(process: Any) -> bool:
    """Whether a process is one of Ray's: a worker (``ray::...``) or a program from Ray's package directory."""
    import psutil

    try:
        command = process.cmdline()
    except psutil.Error:
        return False
    package = f"{os.sep}ray{os.sep}"
    return bool(command) and (command[0].startswith("ray::") or any(package in part for part in command))


def _connect(ray: Any, options: RayOptions) -> None:
    """Join the cluster at ``options.address``, or start a local instance with this machine's CPUs."""
    if options.address:
        try:
            ray.init(address=options.address, include_dashboard=False, log_to_driver=True)
        except (ConnectionError, ValueError) as error:
            raise ConfigError("run.backend_options.address", f"cannot join the Ray cluster at {options.address!r}: {error}") from error
        return
    ray.init(
        address="local",  # a new instance, even when RAY_ADDRESS or a `ray start` cluster exists
        num_cpus=os.cpu_count() or 1,
        include_dashboard=False,
        _node_ip_address=LOCAL_NODE_IP,
        log_to_driver=True,
    )


class _RayProgram:
    """The actors of one program: created, supervised, wound down and killed."""

    def __init__(self, ray: Any, program: Program, builder: Any, options: RayOptions):
        self.ray, self.program, self.builder, self.options = ray, program, builder, options
        self.handles: Dict[str, Any] = {}  # node name -> actor handle, in creation order
        self.places: Dict[str, Dict[str, Any]] = {}
        self.roles = {node.name: node.role for node in program.nodes}

    # ------------------------------------------------------------------ actors
    def _requests(self) -> Dict[str, Dict[str, Any]]:
        """Ray actor options of every node: CPUs, GPUs, custom resources, then the node's own ``resources['ray']``."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        o = self.options
        gpus = o.trainer_gpus if o.trainer_gpus is not None else (1.0 if self.ray.cluster_resources().get("GPU", 0) >= 1 else 0.0)
        here = NodeAffinitySchedulingStrategy(self.ray.get_runtime_context().get_node_id(), soft=True)
        cpus = {REPLAY: o.replay_cpus, COUNTER: 0.0, TRAINER: o.trainer_cpus, EXECUTOR: o.executor_cpus,
                EVALUATOR: o.evaluator_cpus, COORDINATOR: 0.0, CUSTOM: o.executor_cpus}
        requests = {}
        for index, node in enumerate(self.program.by_role(EXECUTOR)):
            if o.executor_resources:
                resource = o.executor_resources[index % len(o.executor_resources)]
                requests[node.name] = {"resources": {resource: PLACEMENT_SHARE}}
        for node in self.program.nodes:
            request = {"num_cpus": cpus[node.role], "num_gpus": gpus if node.role == TRAINER else 0.0}
            if node.role in (EVALUATOR, COORDINATOR):
                request["scheduling_strategy"] = here  # the evaluations and summary.json where the driver reads them
            request.update(requests.get(node.name, {}))
            request.update(node.resources.get("ray", {}))
            requests[node.name] = request
        self._check_fits(requests)
        return requests

    def _check_fits(self, requests: Dict[str, Dict[str, Any]]) -> None:
        """Fail at once, naming the setting, when the cluster cannot hold the program's actors."""
        have = self.ray.cluster_resources()
        wanted = sum(request.get("num_cpus", 0) for request in requests.values())
        if wanted > have.get("CPU", 0) + 1e-9:
            raise ConfigError(
                "run.backend_options.executor_cpus",
                f"the program's actors ask Ray for {wanted:g} CPUs but the cluster has {have.get('CPU', 0):g}; "
                "lower the per-node CPU requests (executor_cpus, trainer_cpus, evaluator_cpus, replay_cpus) or add nodes",
            )
        gpus = sum(request.get("num_gpus", 0) for request in requests.values())
        if gpus > have.get("GPU", 0) + 1e-9:
            raise ConfigError(
                "run.device",
                f"the trainer asks Ray for {gpus:g} GPU(s) (run.device=gpu or run.backend_options.trainer_gpus) "
                f"but the cluster has {have.get('GPU', 0):g}; use run.device=auto or cpu, or add a GPU node",
            )
        for name, request in requests.items():
            for resource in request.get("resources", {}):
                if resource not in have:
                    offered = sorted(k for k in have if k not in ("CPU", "GPU", "memory", "object_store_memory") and not k.startswith("node:"))
                    raise ConfigError(
                        "run.backend_options.executor_resources",
                        f"node {name!r} asks for Ray resource {resource!r}, which no node of the cluster has; "
                        f"custom resources offered: {', '.join(offered) or '(none)'}",
                    )

    def _start(self) -> None:
        from mava_plugins.backends.ray_nodes import (
            CounterClient,
            CounterHost,
            ProgramStop,
            ReplayHost,
            VariableSourceClient,
            WorkerHost,
        )

        ray, program, builder = self.ray, self.program, self.builder
        check_program(program)
        replay_node, counter_node, trainer_node = program.one(REPLAY), program.one(COUNTER), program.one(TRAINER)
        requests = self._requests()
        env = {node.name: node.resources.get("env", {}) for node in program.nodes}

        def actor(cls: Any, node: Node, concurrency: int = 1):
            return ray.remote(cls).options(max_concurrency=concurrency, **requests[node.name])

        replay = self.handles[replay_node.name] = actor(ReplayHost, replay_node).remote(
            replay_node.name, replay_node.make, self.options.replay_port, builder, env[replay_node.name]
        )
        counter = self.handles[counter_node.name] = actor(CounterHost, counter_node, 4).remote(
            counter_node.name, counter_node.make, env[counter_node.name]
        )
        address = self._get([replay_node.name], [replay.address.remote()])[0]
        counter_client, stop = CounterClient(counter), ProgramStop(counter)
        run_dir = builder.run.run_dir

        def worker(node: Node, kwargs: Dict[str, Any], concurrency: int = 2):
            cpu_only = requests[node.name].get("num_gpus", 0) == 0
            threads = None if node.role in (TRAINER, COORDINATOR) else ACTOR_THREADS  # the coordinator imports no TensorFlow
            self.handles[node.name] = actor(WorkerHost, node, concurrency).remote(
                node.name, node.role, node.make, kwargs, env[node.name], cpu_only, threads, run_dir
            )
            return self.handles[node.name]

        trainer = worker(trainer_node, {"replay_address": address, "counter": counter_client}, 4 + len(program.nodes))
        variables = VariableSourceClient(trainer)
        acting = {"replay_address": address, "variable_source": variables, "counter": counter_client, "stop": stop}
        for node in program.nodes:
            if node.role in (EXECUTOR, CUSTOM):
                worker(node, acting)
            elif node.role == EVALUATOR:
                worker(node, {"variable_source": variables, "counter": counter_client, "stop": stop})
            elif node.role == COORDINATOR:
                worker(node, {"counter": counter_client, "stop": stop})
        names = list(self.handles)
        places = self._get(names, [self.handles[name].placement.remote() for name in names], self.options.start_timeout)
        self.places = dict(zip(names, places))
        with open(os.path.join(run_dir, PLACEMENT_FILE), "w") as handle:
            json.dump(self.places, handle, indent=2)

    def _get(self, names: List[str], refs: List[Any], timeout: Optional[float] = None) -> List[Any]:
        """``ray.get`` of one call per node; a failure or a start that takes too long names the nodes."""
        ready, pending = self.ray.wait(refs, num_returns=len(refs), timeout=timeout or self.options.start_timeout)
        if pending:
            late = [name for name, ref in zip(names, refs) if ref in pending]
            raise MavaError(
                f"Ray did not start node(s) {', '.join(late)} within {self.options.start_timeout:g} s "
                "(see `ray status`: are the requested resources free?); set run.backend_options.start_timeout to wait longer"
            )
        return [self._result(name, ref) for name, ref in zip(names, refs)]

    def _result(self, name: str, ref: Any) -> Any:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as error:
            place = self.places.get(name, {})
            where = f" on Ray node {place['ip']} ({place['node_id'][:8]})" if place else ""
            print(f"error: node {name!r}{where} failed:\n{error}", file=sys.stderr, flush=True)
            raise NodeFailed(f"node {name!r}{where} failed: {describe_error(error)}") from None

    # -------------------------------------------------------------- lifecycle
    def run(self, signals: StopSignals) -> Optional[Dict[str, Any]]:
        """Start every actor, run the workers until the program stops, then wind them down."""
        self._start()
        workers = [name for name in self.handles if self.roles[name] not in (REPLAY, COUNTER)]
        pending = {self.handles[name].run.remote(): name for name in workers}
        summary = None
        counter = self.handles[self.program.one(COUNTER).name]
        asked_at = None
        while pending:
            done, _ = self.ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in done:
                name = pending.pop(ref)
                result = self._result(name, ref)
                if self.roles[name] == COORDINATOR:
                    summary = result
            if signals.requested and asked_at is None:
                self._ask_early_stop(signals.requested)
                asked_at = time.monotonic()
            if self.ray.get(counter.program_stop_requested.remote()):
                break
            if asked_at is not None and time.monotonic() - asked_at > 2 * SHUTDOWN_GRACE_SECONDS:
                break  # the clean stop hangs: stop now
        self._wind_down(pending)
        if signals.requested or os.path.exists(failure_file(self.builder.run.run_dir)):
            return None  # interrupted, or a node failed: launch() reports it
        return self._summary(summary)

    def _ask_early_stop(self, signal_number: int) -> None:
        """Ctrl-C/SIGTERM: the stop file on the coordinator's Ray node; it winds the program down (final checkpoint)."""
        (name,) = [name for name in self.handles if self.roles[name] == COORDINATOR]
        self.ray.get(self.handles[name].request_early_stop.remote(signal_number))

    def _wind_down(self, pending: Dict[Any, str]) -> None:
        """Ask the workers still running to stop and give them the handshake's grace to return."""
        for name in pending.values():
            self.handles[name].request_stop.remote()
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        while pending and time.monotonic() < deadline:
            done, _ = self.ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in done:
                name = pending.pop(ref)
                try:
                    self.ray.get(ref)
                except self.ray.exceptions.RayError as error:
                    print(f"warning: node {name!r} failed while stopping: {describe_error(error)}", file=sys.stderr)
        if pending:
            print(f"warning: node(s) {', '.join(pending.values())} did not stop in time; killing them", file=sys.stderr)

    def _summary(self, summary: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        path = os.path.join(self.builder.run.run_dir, "summary.json")
        if summary is not None and not os.path.exists(path):  # the coordinator ran on another machine
            with open(path, "w") as handle:
                json.dump(summary, handle, indent=2)
        return read_summary(self.builder.run.run_dir, "Ray")

    def kill(self) -> None:
        """Kill every actor of the program (all of them, whatever state they are in)."""
        for handle in reversed(list(self.handles.values())):
            try:
                self.ray.kill(handle, no_restart=True)
            except Exception:  # noqa: BLE001 - already dead, or the cluster went away
                pass
        self.handles.clear()


__all__ = ["RayBackend", "RayOptions", "NodeFailed"]
