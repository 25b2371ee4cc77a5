"""The Ray backend on a real two-node Ray cluster (both nodes on this machine), and its stops.

The cluster (``ray_cluster.TwoNodeRayCluster``) is started once per module with ``ray start``
(a head and a second worker node, each with its own custom resource) on a loopback address,
and stopped at the end by SIGTERM to its processes, after which none of them may survive. Contract checks shared with the other
backends live in ``test_backends.py``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest
from helpers import LAUNCHPAD_MARKER, backend_run, processes_with_marker, read_csv

from mava_core.config import RunConfig
from mava_core.errors import ConfigError
from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.program import CUSTOM, Node
from mava_core.system import SystemBuilder

ray = pytest.importorskip("ray")
from ray_cluster import TwoNodeRayCluster  # noqa: E402

from mava_plugins.backends.ray_backend import LOCAL_NODE_IP, PLACEMENT_FILE, NodeFailed  # noqa: E402

# `make test` runs these (marked ray_cluster) in one process after the rest of the suite: their cluster fixture starts once
pytestmark = [pytest.mark.slow, pytest.mark.ray_cluster]

#: small and quick: 25-step episodes, tiny replay warm-up, small batches
SMALL = {"dataset.min_size": 100, "dataset.batch_size": 16, "network.hidden_sizes": "32"}


@pytest.fixture(scope="module")
def cluster():
    """A head node with resource ``node_a`` and a worker node with ``node_b``, 2 CPUs each (``TwoNodeRayCluster``).

    Yields the head's address and the node id of each resource; at the end no process of the
    cluster may survive, and SIGTERM must have sufficed.
    """
    two_nodes = TwoNodeRayCluster(cpus_per_node=2)
    try:
        address = two_nodes.start()
        print(f"two-node Ray cluster started in {two_nodes.start_seconds:.1f} s")
        assert set(two_nodes.nodes) == {"node_a", "node_b"} and len(set(two_nodes.nodes.values())) == 2, two_nodes.nodes
        yield address, two_nodes.nodes
    finally:
        stopped = two_nodes.stop()
        survivors = two_nodes.processes()
        two_nodes.remove_temp_dir()
        assert not survivors, f"Ray processes survived: {[(p.pid, p.name()) for p in survivors]}"
        assert stopped, "the cluster's processes did not exit on SIGTERM and had to be killed"


def _placements(run_dir):
    with open(os.path.join(run_dir, PLACEMENT_FILE)) as handle:
        return json.load(handle)


def _assert_actors_gone(placements) -> None:
    alive = [name for name, place in placements.items() if psutil.pid_exists(place["pid"])
             and psutil.Process(place["pid"]).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"actors still running after the run: {alive}"


def test_two_executors_on_two_nodes_reach_the_budget_and_train(cluster, tmp_path):
    address, nodes = cluster
    overrides = {**SMALL, "run.backend_options.address": address, "run.backend_options.executor_resources": "node_a,node_b"}
    started = time.monotonic()
    summary, trainer_rows = backend_run(tmp_path, "madqn", "debug:simple_spread", 1_000, overrides, backend="ray")
    print(f"two-node MADQN run: {time.monotonic() - started:.1f} s")
    placements = _placements(tmp_path)
    # executor i asked for a share of resource i mod 2: each ran on the node that offers it
    assert placements["executor_0"]["node_id"] == nodes["node_a"]
    assert placements["executor_1"]["node_id"] == nodes["node_b"]
    for name in ("executor_0.csv", "executor_1.csv"):
        rows = read_csv(tmp_path / "logs" / name)
        assert rows and all(row["episode_length"] == "25" for row in rows)
    assert float(trainer_rows[-1]["trainer_steps"]) > 0 and summary["trainer_steps"] > 0
    _assert_actors_gone(placements)


class _FailingNode:
    """A custom node that fails once the run is under way."""

    def __init__(self, counter, **_):
        self._counter = counter
        self.should_stop = lambda: False

    def run(self):
        while self._counter.get_counts().get("env_steps", 0) < 50 and not self.should_stop():
            time.sleep(0.2)
        raise RuntimeError("the saboteur broke on purpose")


class _AddFailingNode:
    name = "add_failing_node"

    @hookimpl
    def mava_program_build_nodes(self, builder, program):
        program.add(Node("saboteur", CUSTOM, _FailingNode))


def _ray_builder(run_dir, address, overrides=None, plugins=()):
    run = RunConfig(system="madqn", environment="debug:simple_spread", backend="ray", executors=1, env_steps=100_000,
                    eval_episodes=1, random_baseline_episodes=1, loggers=("csv",), run_dir=str(run_dir))
    settings = {**SMALL, "run.backend_options.address": address, **(overrides or {})}
    return SystemBuilder(run, overrides=settings, plugin_manager=PluginManager(), plugins=plugins)


def test_a_failed_actor_stops_the_program_naming_the_node(cluster, tmp_path):
    address, _ = cluster
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the plugin travels to the actors
    try:
        builder = _ray_builder(tmp_path, address, plugins=[_AddFailingNode()])
        started = time.monotonic()
        with pytest.raises(NodeFailed) as caught:
            builder.launch()
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    message = str(caught.value)
    assert message.startswith(f"node 'saboteur' on Ray node {LOCAL_NODE_IP} (") and "\n" not in message
    assert message.endswith("failed: RuntimeError: the saboteur broke on purpose")
    assert time.monotonic() - started < 120  # it did not run on towards the 100,000-step budget
    _assert_actors_gone(_placements(tmp_path))


def test_requests_the_cluster_cannot_hold_fail_before_any_actor_starts(cluster, tmp_path):
    address, _ = cluster
    with pytest.raises(ConfigError, match=r"^config key 'run.backend_options.executor_cpus': the program's actors ask Ray "
                                          r"for 10.75 CPUs but the cluster has 4; lower"):
        _ray_builder(tmp_path, address, {"run.backend_options.trainer_cpus": 10}).launch()
    with pytest.raises(ConfigError, match=r"asks for Ray resource 'gpu_box', which no node of the cluster has; "
                                          r"custom resources offered: node_a, node_b$"):
        _ray_builder(tmp_path, address, {"run.backend_options.executor_resources": "gpu_box"}).launch()
    assert not os.path.exists(tmp_path / PLACEMENT_FILE)


def test_sigterm_stops_a_local_ray_run_after_a_final_checkpoint_leaving_no_process(tmp_path):
    marker = uuid.uuid4().hex
    run_dir = tmp_path / "run"
    command = [os.path.join(os.path.dirname(sys.executable), "mava"), "run", "madqn", "debug:simple_spread",
               "--backend", "ray", "--env-steps", "1000000", "--run-dir", str(run_dir), "run.loggers=csv",
               "run.log_every_seconds=0", *(f"{key}={value}" for key, value in SMALL.items())]
    with open(tmp_path / "output.log", "w") as log:
        process = subprocess.Popen(command, env={**os.environ, LAUNCHPAD_MARKER: marker}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            trainer_log = run_dir / "logs" / "trainer.csv"
            while time.monotonic() < deadline and process.poll() is None:
                if trainer_log.exists() and any(float(row["trainer_steps"]) > 0 for row in read_csv(trainer_log)):
                    break
                time.sleep(1)
            assert process.poll() is None, (tmp_path / "output.log").read_text()
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=180)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    output = (tmp_path / "output.log").read_text()
    assert status == 128 + signal.SIGTERM, output
    assert "stopped: run stopped by SIGTERM at " in output and f"mava run --resume {run_dir}" in output, output
    leftovers = processes_with_marker(marker)
    assert not leftovers, f"processes left running: {[(p.pid, p.cmdline()) for p in leftovers]}"
    _assert_actors_gone(_placements(run_dir))
