"""The Launchpad backend: one process per node, a budget that ends the run, nothing left behind."""
from __future__ import annotations

import json
import os

import pytest
from helpers import launchpad_run, read_csv

pytestmark = pytest.mark.slow


def test_two_executors_reach_the_budget_train_log_and_leave_no_process(tmp_path):
    # launchpad_run checks the budget, trainer steps, every node's logs and leftover processes
    summary, _ = launchpad_run(
        tmp_path, "madqn", "debug:simple_spread", 2_000, eval_every=1_000, eval_episodes=2,
        loggers=("csv", "tensorboard"), overrides={"dataset.min_size": 200, "dataset.batch_size": 32},
    )
    with open(tmp_path / "summary.json") as handle:
        assert json.load(handle)["env_steps"] == summary["env_steps"]
    assert [e["env_steps"] for e in summary["evaluations"]][0] == 0 and len(summary["evaluations"]) >= 2
    # both executors acted: each logged whole episodes of the 25-step task
    for name in ("executor_0.csv", "executor_1.csv"):
        rows = read_csv(tmp_path / "logs" / name)
        assert rows and all(row["episode_length"] == "25" for row in rows)
    assert any(name.startswith("events.out.tfevents") for _, _, files in os.walk(tmp_path) for name in files)
