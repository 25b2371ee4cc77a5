"""The command line against a real two-node Ray cluster: ``mava run --ray-address`` and ``mava experiment --backend ray``.

The cluster is the one ``test_ray_backend.py`` starts (its ``cluster`` fixture: a head and a
second node on this machine, 2 CPUs each), started once for this module. Both commands run
as the installed ``mava`` command in their own process, as a user would run them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("ray")
from test_ray_backend import SMALL, cluster  # noqa: E402,F401 (the fixture)

from mava_plugins.backends.ray_backend import PLACEMENT_FILE  # noqa: E402
from mava_plugins.experiments.grid import RAY_TASK_FILE  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.ray_cluster]

MAVA = os.path.join(os.path.dirname(sys.executable), "mava")
SMALL_OVERRIDES = [f"{key}={value}" for key, value in SMALL.items()]


def test_ray_address_runs_every_node_on_the_given_cluster(cluster, tmp_path):  # noqa: F811
    address, nodes = cluster
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [MAVA, "run", "madqn", "debug:simple_spread", "--backend", "ray", "--ray-address", address, "--env-steps", "300",
         "--run-dir", str(run_dir), "run.eval_episodes=1", "run.random_baseline_episodes=1", "run.loggers=csv",
         *SMALL_OVERRIDES],
        cwd=tmp_path, capture_output=True, text=True, timeout=400,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["backend"] == "ray" and summary["env_steps"] >= 300 and summary["trainer_steps"] > 0
    placements = json.loads((run_dir / PLACEMENT_FILE).read_text())
    assert {"trainer", "executor_0", "evaluator"} <= set(placements)
    assert {place["node_id"] for place in placements.values()} <= set(nodes.values()), "every actor ran on the given cluster"


def test_ray_address_needs_the_ray_backend(tmp_path):
    result = subprocess.run([MAVA, "run", "madqn", "debug:two_step", "--ray-address", "127.0.0.2:1", "--env-steps", "10"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "mava: error: --ray-address is only valid with --backend ray (this run's backend is 'local')")


def test_an_experiment_runs_its_grid_as_ray_tasks_on_the_cluster(cluster, tmp_path):  # noqa: F811
    address, nodes = cluster
    root = tmp_path / "experiment"
    grid = ["--systems", "madqn,vdn", "--tasks", "debug:two_step", "--seeds", "0,1,2", "--env-steps", "120",
            "dataset.min_size=32", "dataset.batch_size=16", "run.eval_every=60", "run.eval_episodes=2",
            "run.random_baseline_episodes=2"]
    result = subprocess.run([MAVA, "experiment", str(root), "--backend", "ray", "--ray-address", address,
                             "--cpus-per-run", "2", *grid], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "submitted 6 runs as Ray tasks" in result.stdout and "6 runs finished" in result.stdout
    run_dirs = sorted(root.glob("*/debug-two_step/seed_*"))
    assert len(run_dirs) == 6
    tasks = [json.loads((d / RAY_TASK_FILE).read_text()) for d in run_dirs]
    assert {t["node_id"] for t in tasks} <= set(nodes.values()), "every run ran as a task on the given cluster"
    assert all(t["pid"] != os.getpid() for t in tasks)
    summaries = [json.loads((d / "summary.json").read_text()) for d in run_dirs]
    assert sorted((s["system"], s["seed"]) for s in summaries) == [(s, i) for s in ("madqn", "vdn") for i in range(3)]
    assert all(s["env_steps"] >= 120 and s["backend"] == "local" for s in summaries)  # each run is local inside its task
    print(f"runs per Ray node: {sorted(sum(t['node_id'] == n for t in tasks) for n in nodes.values())}")
    again = subprocess.run([MAVA, "experiment", str(root), "--resume", "--backend", "ray", "--ray-address", address],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "6 runs, 6 finished, 0 to resume, 0 to start" in again.stdout
    assert "submitted 0 runs" in again.stdout
