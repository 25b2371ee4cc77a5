"""The Launchpad backend: one process per node, a budget that ends the run, nothing left behind."""
from __future__ import annotations

import json
import os

import pytest
from helpers import ParameterTrace, assert_parameters_reached_acting_nodes, launchpad_run, read_csv

pytestmark = pytest.mark.slow


def test_two_executors_reach_the_budget_train_log_and_leave_no_process(tmp_path):
    # launchpad_run checks the budget, trainer steps, every node's logs and leftover processes
    overrides = {"dataset.min_size": 200, "dataset.batch_size": 32}
    summary, _ = launchpad_run(tmp_path, "madqn", "debug:simple_spread", 2_000, overrides, eval_every=1_000,
                               eval_episodes=2, loggers=("csv", "tensorboard"), plugins=[ParameterTrace(tmp_path / "trace")])
    # trained parameters reached both executors and the evaluator (exactly unchanged without learning)
    assert_parameters_reached_acting_nodes(tmp_path / "trace", executors=2)
    with open(tmp_path / "summary.json") as handle:
        assert json.load(handle)["env_steps"] == summary["env_steps"]
    assert [e["env_steps"] for e in summary["evaluations"]][0] == 0 and len(summary["evaluations"]) >= 2
    # both executors acted: each logged whole episodes of the 25-step task
    for name in ("executor_0.csv", "executor_1.csv"):
        rows = read_csv(tmp_path / "logs" / name)
        assert rows and all(row["episode_length"] == "25" for row in rows)
    assert any(name.startswith("events.out.tfevents") for _, _, files in os.walk(tmp_path) for name in files)


#: systems whose Launchpad test lives beside their learning tests (with system-specific checks)
COVERED_ELSEWHERE = {
    "madqn": "test_launchpad.py",
    "qmix": "test_value_decomposition.py",
    "mad4pg": "test_maddpg.py",
    "mappo": "test_mappo.py",
    "recurrent_madqn": "test_recurrent.py",
}
SEQUENCES = {"dataset.min_size": 20, "dataset.batch_size": 8, "dataset.sequence_length": 10, "dataset.burn_in": 2,
             "dataset.period": 5, "network.core_size": 16, "network.torso_sizes": "16"}
#: the other systems: a few trainer steps with two executors, small networks
FEW_STEPS = {
    "vdn": ({"dataset.min_size": 200, "dataset.batch_size": 16, "network.hidden_sizes": "32"}, {}),
    "maddpg": ({"dataset.min_size": 200, "dataset.batch_size": 16}, {"continuous": True, "num_agents": 2}),
    "recurrent_vdn": (SEQUENCES, {}),
    "recurrent_qmix": ({**SEQUENCES, "mixer.embed_size": 8}, {}),
}


def test_every_registered_system_has_a_launchpad_test():
    from pathlib import Path

    from mava_core.plugins import PluginManager

    assert set(COVERED_ELSEWHERE) | set(FEW_STEPS) == set(PluginManager().registry.names("system"))
    here = Path(__file__).parent
    for system, filename in COVERED_ELSEWHERE.items():
        assert f'launchpad_run(tmp_path, "{system}"' in (here / filename).read_text(), (system, filename)


@pytest.mark.parametrize("system", sorted(FEW_STEPS))
def test_system_takes_trainer_steps_with_two_executors(system, tmp_path):
    overrides, env_options = FEW_STEPS[system]
    _, trainer_rows = launchpad_run(tmp_path, system, "debug:simple_spread", 1_000, overrides, env_options=env_options,
                                    plugins=[ParameterTrace(tmp_path / "trace")])
    losses = [key for key in trainer_rows[-1] if key.startswith("loss/")]
    assert losses and all(float(trainer_rows[-1][key]) == float(trainer_rows[-1][key]) for key in losses)  # not NaN
    # the trainer's updates reached both executors and the evaluator (exactly unchanged without learning)
    assert_parameters_reached_acting_nodes(tmp_path / "trace", executors=2)
