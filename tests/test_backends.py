"""The backend contract: every backend runs the same program to the same observable results.

One small MADQN run (two executors, a 1,000-step budget, a checkpoint every 500 env steps)
on each registered backend. Whatever runs the nodes (one process, one process per node,
Ray actors), a run must count its steps and episodes, train, evaluate, log from every
node, keep its checkpoints with the counts they were taken at, and leave no process behind
(``backend_run`` checks the budget, trainer steps, logs and leftover processes).

A hook-only plugin (:class:`NodeFiles`) rides along: from every node it writes a file into
the run directory, and ``mava evaluate`` on the local run's directory writes the evaluator's.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys

import cloudpickle
import pytest
from helpers import backend_run, read_csv

from mava_core.evaluation import evaluate_run
from mava_core.hookspecs import hookimpl
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


#: the nodes of the run below (two executors), by role
NODES = {"replay": "replay", "counter": "counter", "trainer": "trainer", "executor_0": "executor",
         "executor_1": "executor", "evaluator": "evaluator", "coordinator": "coordinator"}


class NodeFiles:
    """A hook-only plugin: every node writes ``node_files/<node>.json`` into the run directory as it starts."""

    name = "node_files"

    @hookimpl
    def mava_node_start(self, context):
        directory = os.path.join(context.run_dir, "node_files")
        os.makedirs(directory, exist_ok=True)
        record = {"node": context.node, "role": context.role, "backend": context.backend.name, "pid": os.getpid(),
                  "seed": context.seed, "agents": context.env_spec.agent_ids}
        with open(os.path.join(directory, f"{context.node}.json"), "w") as handle:
            json.dump(record, handle)


def node_files(run_dir):
    directory = os.path.join(run_dir, "node_files")
    records = {}
    for name in os.listdir(directory):
        with open(os.path.join(directory, name)) as handle:
            records[name[: -len(".json")]] = json.load(handle)
    return records


@contextlib.contextmanager
def plugin_travels():
    """The plugin class (this module's) reaches Launchpad nodes and Ray actors by value."""
    picklers = [cloudpickle] + ([sys.modules["ray"].cloudpickle] if "ray" in sys.modules else [])
    for pickler in picklers:
        pickler.register_pickle_by_value(sys.modules[__name__])
    try:
        yield
    finally:
        for pickler in picklers:
            pickler.unregister_pickle_by_value(sys.modules[__name__])


def test_every_registered_backend_is_held_to_the_contract():
    assert set(PluginManager().registry.names("backend")) == set(BACKENDS)


def _optional(backend):
    if backend == "ray":
        pytest.importorskip("ray", reason="the ray backend needs the `ray` extra")
    return backend


@pytest.mark.parametrize("backend", BACKEND_RUNS)
def test_the_same_run_gives_the_same_observable_results(backend, tmp_path):
    backend = _optional(backend)
    with plugin_travels():
        summary, trainer_rows = backend_run(tmp_path, "madqn", "debug:simple_spread", BUDGET, OVERRIDES,
                                            backend=backend, eval_every=500, plugins=[NodeFiles()])
    # the hook-only plugin heard from every node, each in its own process unless the backend interleaves them
    records = node_files(tmp_path)
    assert {name: record["role"] for name, record in records.items()} == NODES
    assert all(r["backend"] == backend and r["seed"] == 1 and r["agents"] for r in records.values())
    pids = {record["pid"] for record in records.values()}
    assert pids == {os.getpid()} if backend == "local" else len(pids) == len(NODES)
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


@pytest.mark.timeout(300)
def test_mava_evaluate_fires_the_node_hooks_for_its_evaluator(tmp_path):
    """``mava evaluate`` builds no program: its one node, the evaluator, still starts with its context."""
    backend_run(tmp_path, "madqn", "debug:simple_spread", 300, OVERRIDES, backend="local", executors=1)
    result = evaluate_run(str(tmp_path), episodes=1, plugins=[NodeFiles()])
    assert result["episodes"] == 1
    records = node_files(tmp_path)
    assert list(records) == ["evaluator"]
    assert (records["evaluator"]["role"], records["evaluator"]["pid"]) == ("evaluator", os.getpid())
