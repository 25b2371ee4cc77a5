"""A real two-node Ray cluster on this machine, for the Ray tests and ``benchmarks/ray_scaling.py``.

``ray start`` makes a head node carrying the custom resource ``node_a`` and a second node
carrying ``node_b`` (``--num-cpus`` each), both on ``LOCAL_NODE_IP`` (a loopback address:
Ray would replace 127.0.0.1 by the machine's network address). :meth:`TwoNodeRayCluster.stop`
ends only this cluster's processes, where ``ray stop`` would end every Ray process of the
machine, other runs' local instances included.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Dict, List

import psutil
from helpers import LAUNCHPAD_MARKER, processes_with_marker

from mava_plugins.backends.ray_backend import LOCAL_NODE_IP

RAY = os.path.join(os.path.dirname(sys.executable), "ray")
#: the custom resource of each node, head first
NODE_RESOURCES = ("node_a", "node_b")


class TwoNodeRayCluster:
    """Start with :meth:`start` (returns the head's address), end with :meth:`stop`."""

    def __init__(self, cpus_per_node: int = 2):
        self.cpus_per_node = cpus_per_node
        self.marker = uuid.uuid4().hex
        self.temp_dir = ""
        self.address = ""
        #: resource name -> Ray node id
        self.nodes: Dict[str, str] = {}
        self.start_seconds = 0.0

    def _ray(self, *args: str) -> None:
        env = {**os.environ, LAUNCHPAD_MARKER: self.marker}  # every process of the cluster inherits it
        result = subprocess.run([RAY, *args], env=env, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"ray {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> str:
        import portpicker
        import ray

        self.temp_dir = tempfile.mkdtemp(prefix="mray", dir="/tmp")  # short: Ray's socket paths must fit
        port, client_port = portpicker.pick_unused_port(), portpicker.pick_unused_port()
        self.address = f"{LOCAL_NODE_IP}:{port}"
        common = ["--node-ip-address", LOCAL_NODE_IP, "--num-cpus", str(self.cpus_per_node), "--disable-usage-stats"]
        head, second = NODE_RESOURCES
        started = time.monotonic()
        self._ray("start", "--head", "--port", str(port), "--ray-client-server-port", str(client_port),
                  "--include-dashboard=false", "--temp-dir", self.temp_dir, "--resources", f'{{"{head}": 1}}', *common)
        self._ray("start", "--address", self.address, "--resources", f'{{"{second}": 1}}', *common)
        self.start_seconds = time.monotonic() - started
        ray.init(address=self.address)
        try:
            self.nodes = {name: node["NodeID"] for node in ray.nodes() if node["Alive"] for name in NODE_RESOURCES
                          if name in node["Resources"]}
        finally:
            ray.shutdown()
        return self.address

    def processes(self) -> List[psutil.Process]:
        """This cluster's live processes: those carrying its marker or naming its temp dir (raylet, GCS, workers)."""
        found = {process.pid: process for process in processes_with_marker(self.marker)}
        for process in psutil.process_iter(["pid", "cmdline"]):
            try:
                if self.temp_dir and any(self.temp_dir in part for part in process.info["cmdline"] or ()):
                    found[process.pid] = process
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return list(found.values())

    def stop(self) -> bool:
        """SIGTERM every process of the cluster, the GCS server last; True when none had to be killed.

        ``ray stop``'s order: a GCS server terminated while raylets still run can hang.
        """
        processes = self.processes()
        gcs = [process for process in processes if _name(process) == "gcs_server"]
        stragglers = []
        for group in ([process for process in processes if process not in gcs], gcs):
            for process in group:
                try:
                    process.terminate()
                except psutil.NoSuchProcess:
                    pass
            stragglers += psutil.wait_procs(group, timeout=30)[1]
        for process in stragglers:
            process.kill()
        psutil.wait_procs(stragglers, timeout=10)
        return not stragglers

    def remove_temp_dir(self) -> None:
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:
        return ""
