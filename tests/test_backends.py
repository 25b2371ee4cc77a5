"""The backend contract: every backend runs the same program to the same observable results.

One small MADQN run (two executors, a 1,000-step budget, a checkpoint every 500 env steps)
on each registered backend. Whatever runs the nodes (one process, one process per node,
Ray actors), a run must count its steps and episodes, train, evaluate, log from every
node, keep its checkpoints with the counts they were taken at, and leave no process behind
(``backend_run`` checks the budget, trainer steps, logs and leftover processes).
"""
from __future__ import annotations

import json
import os

import pytest
from helpers import backend_run, read_csv

from mava_core.plugins import PluginManager
from mava_plugins.placement.devices import machine_gpus

pytestmark = pytest.mark.slow

BUDGET = 1_000
EPISODE = 25  # debug:simple_spread's episode length
OVERRIDES = {"dataset.min_size": 100, "dataset.batch_size": 16, "network.hidden_sizes": "32",
             "run.checkpoint_every": 500, "run.checkpoint_every_seconds": 0}
BACKENDS = ("local", "launchpad", "ray")
#: the runs under each backend (a Ray run starts a local Ray cluster: `make test` runs those on their own)
BACKEND_RUNS = [pytest.param(b, marks=pytest.mark.ray_cluster) if b == "ray" else b for b in BACKENDS]


def test_every_registered_backend_is_held_to_the_contract():
    assert set(PluginManager().registry.names("backend")) == set(BACKENDS)


def _optional(backend):
    if backend == "ray":
        pytest.importorskip("ray", reason="the ray backend needs the `ray` extra")
    return backend


@pytest.mark.parametrize("backend", BACKEND_RUNS)
def test_the_same_run_gives_the_same_observable_results(backend, tmp_path):
    summary, trainer_rows = backend_run(tmp_path, "madqn", "debug:simple_spread", BUDGET, OVERRIDES,
                                        backend=_optional(backend), eval_every=500)
    # steps and episodes are counted across both executors; the budget ends the run
    assert BUDGET <= summary["env_steps"] < BUDGET + 2 * EPISODE * 4
    assert summary["episodes"] * EPISODE == summary["env_steps"]
    executor_rows = [read_csv(tmp_path / "logs" / f"executor_{i}.csv") for i in range(2)]
    assert all(rows for rows in executor_rows), "both executors acted"
    # executors report to the counter every 50 steps: their logs and the counter agree to that
    logged = sum(len(rows) for rows in executor_rows) * EPISODE
    assert abs(logged - summary["env_steps"]) <= 2 * 50, (logged, summary["env_steps"])
    assert all(row["episode_length"] == str(EPISODE) for rows in executor_rows for row in rows)
    # the trainer logged its steps (the summary reads the counter before the trainer's last
    # report, so the two may differ by the steps of that report)
    trainer_steps = [int(float(row["trainer_steps"])) for row in trainer_rows]
    assert max(trainer_steps) > 0 and summary["trainer_steps"] > 0
    # the evaluator evaluated at the start and at the end at least, and wrote the summary
    evaluated_at = [e["env_steps"] for e in summary["evaluations"]]
    assert evaluated_at[0] == 0 and evaluated_at[-1] >= BUDGET and len(evaluated_at) >= 2
    with open(tmp_path / "summary.json") as handle:
        assert json.load(handle)["backend"] == backend
    # the placement plugin: the trainer's process reports the device TensorFlow gave it; on a
    # process-per-node backend without a GPU for it, it saw none
    with open(tmp_path / "placement_trainer.json") as handle:
        placed = json.load(handle)
    assert placed["requested"] == "auto" and placed["device"] == ("/GPU:0" if placed["visible_gpus"] else "/CPU:0")
    if backend == "launchpad" and not machine_gpus():
        assert placed["CUDA_VISIBLE_DEVICES"] == "" and placed["visible_gpus"] == []
    # checkpoints: on the interval and at the end, each with its counts and files
    with open(tmp_path / "checkpoints" / "checkpoint.json") as handle:
        manifest = json.load(handle)
    assert manifest["backend"] == backend
    entries = manifest["checkpoints"]
    assert 1 <= len(entries) <= 2  # run.checkpoint_keep=2
    last = entries[-1]
    assert last["counts"]["env_steps"] >= BUDGET and last["counts"]["trainer_steps"] > 0
    # the directory is ckpt-<env_steps>, with a suffix when the final save lands on an interval's count
    assert last["dir"].startswith(f"ckpt-{last['id']}")
    assert {f"{last['dir']}/trainer.index", f"{last['dir']}/replay/DONE"} <= set(last["files"])
    for path in last["files"]:
        assert os.path.exists(tmp_path / "checkpoints" / path), path
