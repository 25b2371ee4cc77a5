"""Soak: eight executors against one replay server for minutes (marked ``soak``: not in the default suite).

    make soak                                   # 10 minutes (MAVA_SOAK_SECONDS=600)
    MAVA_SOAK_SECONDS=120 make soak             # a shorter one

MADQN on the debug Spread task under Launchpad with ``run.max_seconds`` as the budget. Every
node's resident memory is sampled each second. The run must end on its own with a summary
whose item accounting balances (items the executors' adders created = inserts the replay
server completed), every executor must have acted and saved its normalisation statistics,
each node's memory must stay under a bound and stop growing after warm-up, and no process
of the run may survive it.
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from typing import Dict, List, Tuple

import pytest
from helpers import LAUNCHPAD_MARKER, node_process_group, processes_with_marker, read_csv

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder

pytestmark = pytest.mark.soak

EXECUTORS = 8
SECONDS = float(os.environ.get("MAVA_SOAK_SECONDS", "600"))
#: resident memory a node may reach (MiB); measured peaks on this task are far below (docs/reliability.md)
PEAK_MIB = {"replay": 1500.0, "trainer": 1500.0, "executor": 900.0, "evaluator": 900.0, "counter": 600.0}
#: growth allowed from the third quarter of the run to the last: 150 MiB or 15% of the node's peak,
#: whichever is more (a leak grows with time, and would grow past it over the second half)
GROWTH_MIB, GROWTH_FRACTION = 150.0, 0.15


class NodeMemory(threading.Thread):
    """Resident memory (MiB) over time of every process of the run, by pid, with its node group."""

    def __init__(self, marker: str, every: float = 1.0):
        super().__init__(daemon=True)
        self.marker, self.every = marker, every
        self.series: Dict[int, List[Tuple[float, float]]] = {}
        self.groups: Dict[int, str] = {}
        self._done = threading.Event()

    def run(self) -> None:
        import psutil

        start = time.monotonic()
        while not self._done.wait(self.every):
            for process in psutil.process_iter(["pid"]):
                try:
                    group = node_process_group(process, self.marker)
                    if group is None:
                        continue
                    rss = process.memory_info().rss / 2**20
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                self.groups[process.pid] = group
                self.series.setdefault(process.pid, []).append((time.monotonic() - start, rss))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _second_half_lows(series: List[Tuple[float, float]]) -> Tuple[float, float]:
    """Lowest RSS in the third and in the last quarter of a node's life.

    The first half is warm-up: the replay's table fills and its allocator reaches its high
    mark (measured: the replay grew for about 260 s of a 690 s run, then stayed flat apart
    from one step at a checkpoint). The lowest reading, not the mean: a checkpoint's copy of
    the replay is a passing spike, while a leak raises the floor too.
    """
    quarter = max(1, len(series) // 4)
    return min(rss for _, rss in series[2 * quarter : 3 * quarter]), min(rss for _, rss in series[-quarter:])


@pytest.mark.timeout(SECONDS + 600)  # the run's budget, plus start-up, wind-down and the checks
def test_eight_executors_against_one_replay_server(tmp_path, monkeypatch):
    marker = uuid.uuid4().hex
    monkeypatch.setenv(LAUNCHPAD_MARKER, marker)  # inherited by every node process
    run = RunConfig(system="madqn", environment="debug:simple_spread", backend="launchpad", executors=EXECUTORS,
                    env_steps=10**9, max_seconds=SECONDS, seed=0, eval_every=10**9, eval_episodes=2,
                    random_baseline_episodes=2, loggers=("csv",), run_dir=str(tmp_path),
                    env_wrappers=("observation_normalisation",), checkpoint_every_seconds=SECONDS / 4)
    overrides = {"dataset.max_size": 20_000, "network.hidden_sizes": "32,32"}  # full within the warm-up
    memory = NodeMemory(marker)
    memory.start()
    started = time.monotonic()
    try:
        summary = SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager()).launch()
    finally:
        memory.stop()
    wall = time.monotonic() - started
    assert wall >= SECONDS, "the run ended before its time budget"
    assert not processes_with_marker(marker), "a process of the run survived it"

    # every inserted item accounted for
    assert summary["items_written"] > 10 * EXECUTORS
    assert summary["replay_items_received"] == summary["items_written"]
    assert summary["items_written"] == summary["env_steps"]  # one transition per joint step (n_step=1)
    for index in range(EXECUTORS):
        assert read_csv(tmp_path / "logs" / f"executor_{index}.csv"), f"executor_{index} never finished an episode"
        path = tmp_path / "checkpoints" / "environments" / f"executor_{index}.json"
        with open(path) as handle:
            [copy] = json.load(handle)["copies"]
        assert sum(g["count"] for g in copy["observation_normalisation"].values()) > 0

    # memory per node: under its bound, and flat after warm-up (lowest readings: checkpoints spike)
    report = {}
    for pid, series in memory.series.items():
        third, last = _second_half_lows(series)
        report[f"{memory.groups[pid]}:{pid}"] = {"peak": round(max(rss for _, rss in series)), "third_quarter_low": round(third),
                                                 "last_quarter_low": round(last)}
    with open(tmp_path / "soak_memory.json", "w") as handle:
        json.dump({"seconds": wall, "summary": {k: v for k, v in summary.items() if k != "evaluations"}, "nodes": report,
                   "series": {f"{memory.groups[p]}:{p}": s for p, s in memory.series.items()}}, handle)
    print(json.dumps({"seconds": round(wall), "env_steps": summary["env_steps"], "items": summary["items_written"],
                      "nodes (MiB)": report, "written": str(tmp_path / "soak_memory.json")}, indent=1))
    assert sum(group == "executor" for group in memory.groups.values()) == EXECUTORS
    for name, node in report.items():
        group = name.split(":")[0]
        assert node["peak"] < PEAK_MIB[group], (name, node)
        assert node["last_quarter_low"] - node["third_quarter_low"] < max(GROWTH_MIB, GROWTH_FRACTION * node["peak"]), (name, node)
