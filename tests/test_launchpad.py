"""The Launchpad backend: one process per node, a budget that ends the run, nothing left behind."""
from __future__ import annotations

import json
import os
import uuid

import psutil
import pytest
from helpers import read_csv

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder

pytestmark = pytest.mark.slow

MARKER = "MAVA_TEST_RUN_MARKER"


def _processes_with_marker(value: str):
    """Live processes (other than this one) whose environment carries ``MARKER=value``."""
    found = []
    for process in psutil.process_iter(["pid"]):
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(MARKER) == value:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_two_executors_reach_the_budget_train_log_and_leave_no_process(tmp_path, monkeypatch):
    marker = uuid.uuid4().hex
    monkeypatch.setenv(MARKER, marker)  # inherited by the launcher and every node it starts
    budget = 2_000
    run = RunConfig(
        system="madqn",
        environment="debug:simple_spread",
        backend="launchpad",
        executors=2,
        env_steps=budget,
        seed=1,
        eval_every=1_000,
        eval_episodes=2,
        random_baseline_episodes=2,
        loggers=("csv", "tensorboard"),
        run_dir=str(tmp_path),
        log_every_seconds=0.0,
    )
    overrides = {"dataset.min_size": 200, "dataset.batch_size": 32}
    summary = SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager()).launch()

    assert summary["backend"] == "launchpad"
    assert summary["env_steps"] >= budget
    assert summary["trainer_steps"] > 0
    with open(tmp_path / "summary.json") as handle:
        assert json.load(handle)["env_steps"] == summary["env_steps"]

    logs = tmp_path / "logs"
    for name in ("executor_0.csv", "executor_1.csv", "evaluator.csv", "trainer.csv"):
        assert (logs / name).exists(), f"missing {name}: {sorted(os.listdir(logs))}"
    # both executors acted: each logged whole episodes of the 25-step task
    for name in ("executor_0.csv", "executor_1.csv"):
        rows = read_csv(logs / name)
        assert rows and all(row["episode_length"] == "25" for row in rows)
    trainer_rows = read_csv(logs / "trainer.csv")
    assert trainer_rows and int(float(trainer_rows[-1]["trainer_steps"])) > 0
    assert any(name.startswith("events.out.tfevents") for _, _, files in os.walk(tmp_path) for name in files)
    assert not os.path.exists(tmp_path / ".launchpad_program.pkl")

    leftovers = _processes_with_marker(marker)
    assert not leftovers, f"processes left running: {[(p.pid, p.cmdline()) for p in leftovers]}"
