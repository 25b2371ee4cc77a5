"""Environment metrics (switch riddle's success, SMAC's win rate) reach every logger and the summary."""
from __future__ import annotations

import glob
import os

import pytest
from helpers import read_csv
from test_smac import fake_smac  # noqa: F401 - the fixture that puts the fake SMAC package on sys.path

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder


def _scalars(run_dir, label):
    """``{tag: [values]}`` of a TensorBoard label's event files."""
    import tensorflow as tf
    from tensorflow.python.summary.summary_iterator import summary_iterator

    tags = {}
    for path in glob.glob(os.path.join(run_dir, "tensorboard", label, "events.out.tfevents.*")):
        for event in summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(float(tf.make_ndarray(value.tensor)))
    return tags


@pytest.mark.parametrize(
    "environment,metric,needs",
    [("debug:switch_riddle", "success", None), pytest.param("smac:3m", "battle_won", "fake_smac", id="smac:3m-fake")],
)
def test_environment_metric_reaches_every_logger(environment, metric, needs, tmp_path, capsys, request):
    if needs:
        request.getfixturevalue(needs)
    run = RunConfig(
        system="madqn", environment=environment, env_steps=120, eval_every=60, eval_episodes=2,
        random_baseline_episodes=1, loggers=("terminal", "csv", "tensorboard"), run_dir=str(tmp_path),
        log_every_seconds=0.0, checkpoint=False,
    )
    settings = {"dataset.min_size": 32, "dataset.batch_size": 8, "network.hidden_sizes": (16,)}
    summary = SystemBuilder(run, overrides=settings, plugin_manager=PluginManager()).launch()
    mean = f"mean_{metric}"

    # summary.json / the evaluator's summary rows
    assert [row["env_steps"] for row in summary["evaluations"]] == [0, 60, 120]
    assert all(0.0 <= row[mean] <= 1.0 for row in summary["evaluations"])
    # CSV: every executor episode and every evaluation
    episodes = read_csv(tmp_path / "logs" / "executor_0.csv")
    assert episodes and all(row[metric] in ("0", "1", "0.0", "1.0") for row in episodes)
    evaluations = read_csv(tmp_path / "logs" / "evaluator.csv")
    assert [float(row[mean]) for row in evaluations] == [row[mean] for row in summary["evaluations"]]
    # TensorBoard: the same values, as scalars
    assert _scalars(tmp_path, "evaluator")[f"evaluator/{mean}"] == pytest.approx([row[mean] for row in summary["evaluations"]])
    assert len(_scalars(tmp_path, "executor_0")[f"executor_0/{metric}"]) == len(episodes)
    # terminal: the progress lines show the metric next to the return
    lines = capsys.readouterr().out.splitlines()
    evaluator_lines = [line for line in lines if line.startswith("[evaluator]")]
    assert evaluator_lines and all(f"| {mean} " in line for line in evaluator_lines)
    assert any(line.startswith("[executor_0]") and f"| {metric} " in line for line in lines)


def test_evaluations_while_training_can_play_fewer_episodes_than_the_final_one(tmp_path):
    """``run.eval_episodes_while_training``: 1 episode at steps 0 and 60, the final evaluation (120) plays 3."""
    from helpers import local_run

    summary, _ = local_run(
        tmp_path, "madqn", "debug:switch_riddle", env_steps=120, eval_every=60, eval_episodes=3, random_baseline_episodes=1,
        overrides={"dataset.min_size": 32, "dataset.batch_size": 8, "network.hidden_sizes": (16,),
                   "run.eval_episodes_while_training": 1},
    )
    rows = [(row["env_steps"], row["eval_episodes"]) for row in summary["evaluations"]]
    assert rows == [(0, 1), (60, 1), (120, 1), (120, 3)]  # the last scheduled one was a short one: the final repeats it
    assert summary["final_mean_return"] == summary["evaluations"][-1]["mean_return"]
