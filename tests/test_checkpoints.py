"""Checkpoints, resume, ``mava evaluate`` and clean shutdown (local and Launchpad backends).

One saved run (200 steps of the two-step game, checkpoints every 100 env steps) is shared by
the tests; each test that changes it works on a copy.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
from helpers import LAUNCHPAD_MARKER, local_run, processes_with_marker, read_csv, trainer_hooks

from mava_core import cli, plugins
from mava_core.config import RunConfig
from mava_core.errors import ConfigError
from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.saved_runs import builder_from_run_dir
from mava_core.system import SystemBuilder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HALF, FULL = 200, 400
OVERRIDES = {"dataset.min_size": 50, "dataset.batch_size": 16, "dataset.samples_per_insert": 4.0,
             "run.checkpoint_every": 100, "run.eval_every": 100}


def _run(run_dir, env_steps, pm=None):
    return local_run(run_dir, "madqn", "debug:two_step", env_steps, OVERRIDES, eval_every=100, eval_episodes=1,
                     random_baseline_episodes=1, plugin_manager=pm)


def _manifest(run_dir):
    with open(os.path.join(run_dir, "checkpoints", "checkpoint.json")) as handle:
        return json.load(handle)


class TrainerProbe:
    """Keeps the trainer; records its state and the replay size before its first step."""

    def __init__(self):
        self.trainer = None
        self.replay_size_at_init = None
        self.first_state = None
        self.first_steps = None

    @hookimpl
    def mava_trainer_init(self, trainer):
        self.trainer = trainer
        self.replay_size_at_init = trainer.learner.client.server_info()["transitions"].current_size

    @hookimpl
    def mava_trainer_step_start(self, trainer, step):
        if self.first_state is None:
            self.first_state = [v.numpy().copy() for v in trainer.state_variables()]
            self.first_steps = trainer.steps


def _probed(probe):
    pm = PluginManager()
    pm.register(probe, name="probe")
    return pm


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A finished 200-step local run with checkpoints at 100 and 200 env steps; its trainer probe."""
    run_dir = tmp_path_factory.mktemp("saved") / "run"
    probe = TrainerProbe()
    summary, _ = _run(run_dir, HALF, _probed(probe))
    final_state = [v.numpy().copy() for v in probe.trainer.state_variables()]
    return run_dir, summary, final_state


def _copy(saved, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(saved[0], run_dir)
    return run_dir


@pytest.fixture
def fresh_cli(monkeypatch):
    monkeypatch.setattr(plugins, "_DEFAULT", PluginManager())


def mava(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ------------------------------------------------------------------------------ local
def test_checkpoints_are_kept_on_their_interval_and_describe_the_run(saved):
    run_dir, summary, _ = saved
    manifest = _manifest(run_dir)
    assert (manifest["system"], manifest["environment"], manifest["backend"]) == ("madqn", "debug:two_step", "local")
    assert [e["id"] for e in manifest["checkpoints"]] == ["100", "200"]  # run.checkpoint_keep=2
    last = manifest["checkpoints"][-1]
    assert last["counts"] == {"env_steps": 200, "episodes": 100, "trainer_steps": summary["trainer_steps"]}
    assert sorted(os.listdir(run_dir / "checkpoints")) == [".reverb", "checkpoint.json", "ckpt-100", "ckpt-200"]
    assert {"ckpt-200/trainer.index", "ckpt-200/replay/DONE"} <= set(last["files"])
    assert manifest["spec"]["agents"]["agent_0"]["action"] == {"discrete": True, "shape": [], "num_actions": 2}
    assert manifest["config"]["system"]["learning_rate"] == 0.0005


def test_an_interrupted_run_resumed_ends_like_an_uninterrupted_one(saved, tmp_path):
    run_dir = _copy(saved, tmp_path)
    probe = TrainerProbe()
    builder = builder_from_run_dir(str(run_dir), [("run.env_steps", FULL)], plugin_manager=_probed(probe), resume=True)
    resumed = builder.launch()
    # what an uninterrupted local run of FULL steps counts (its schedule depends on counts only):
    # every step, a two-step episode per two steps, the data ratio's trainer steps, every evaluation
    uninterrupted = {"env_steps": FULL, "episodes": FULL // 2, "trainer_steps": builder.dataset.trainer_steps_due(FULL)}
    for key, value in uninterrupted.items():
        assert resumed[key] == value, key
    assert [e["env_steps"] for e in resumed["evaluations"]] == [0, 100, 200, 300, 400]
    # the replay server started with the checkpoint's 200 transitions (one per env step)
    assert probe.replay_size_at_init == HALF
    # before its first step the trainer holds exactly what the first run saved (networks,
    # targets, Adam moments, step counter), and counts on from the saved step
    _, first_summary, final_state = saved
    assert probe.first_steps == first_summary["trainer_steps"]
    assert len(probe.first_state) == len(final_state)
    assert all(np.array_equal(a, b) for a, b in zip(probe.first_state, final_state))
    # logs continue: one row per two-step episode over the whole run, env steps increasing
    rows = read_csv(run_dir / "logs" / "executor_0.csv")
    steps = [int(r["env_steps"]) for r in rows]
    assert len(rows) == FULL // 2 and steps == sorted(steps) and steps[-1] == FULL
    assert [float(r["wall_time"]) for r in rows] == sorted(float(r["wall_time"]) for r in rows)
    assert [int(r["env_steps"]) for r in read_csv(run_dir / "logs" / "evaluator.csv")] == [0, 100, 200, 300, 400]
    assert [e["id"] for e in _manifest(run_dir)["checkpoints"]] == ["300", "400"]
    assert sorted(os.listdir(run_dir / "checkpoints")) == [".reverb", "checkpoint.json", "ckpt-300", "ckpt-400"]


SYSTEMS = sorted(PluginManager().registry.names("system"))


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_system_s_trainer_state_is_found_and_restores_into_a_fresh_trainer(system, tmp_path):
    import tensorflow as tf

    from mava_core.trainer import Trainer

    continuous = system in ("maddpg", "mad4pg")
    run = RunConfig(system=system, environment="debug:simple_spread", run_dir=str(tmp_path),
                    env_options={"continuous": True, "num_agents": 2} if continuous else {})
    builder = SystemBuilder(run, plugin_manager=PluginManager())

    def trainer(seed):
        tf.random.set_seed(seed)
        return Trainer(builder.system.make_learner(builder.system.make_networks(), None), None, trainer_hooks(builder))

    saved, fresh = trainer(1), trainer(2)
    saved_state, fresh_state = saved.state_variables(), fresh.state_variables()
    # networks, targets, optimiser slots (built ahead of the first step) and the step counter
    assert len(saved_state) == len(fresh_state) > 2 * len(saved.learner.trainable_variables())
    assert {id(saved.step_counter), id(saved.groups[0].optimizer.step)} <= {id(v) for v in saved_state}
    assert not all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(saved_state, fresh_state))
    prefix = tf.train.Checkpoint(trainer=saved_state).write(str(tmp_path / "state"))
    tf.train.Checkpoint(trainer=fresh_state).read(prefix).assert_consumed()
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(saved_state, fresh_state))


def test_no_checkpointer_when_turned_off(tmp_path):
    def run():
        return RunConfig(system="madqn", environment="debug:two_step", run_dir=str(tmp_path))

    assert SystemBuilder(run(), overrides=["run.checkpoint=false"], plugin_manager=PluginManager()).checkpointer is None
    builder = SystemBuilder(run(), plugin_manager=PluginManager())
    assert type(builder.checkpointer).__name__ == "RunCheckpointer"


# ------------------------------------------------------------------------- evaluate
def test_evaluate_loads_the_policy_and_prints_the_return(saved, tmp_path, capsys, fresh_cli):
    run_dir = _copy(saved, tmp_path)
    status, out, err = mava(capsys, "evaluate", run_dir, "--episodes", 3)
    assert status == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == (f"checkpoint 200 of {run_dir}: madqn on debug:two_step, 200 env steps, "
                        f"{saved[1]['trainer_steps']} trainer steps")
    assert lines[1].startswith("greedy evaluation over 3 episodes: mean return ")
    assert lines[2].startswith("metrics: team_return ") and "payoff" in lines[2]
    with open(run_dir / "evaluation.json") as handle:
        result = json.load(handle)
    assert f"mean return {result['mean_return']:.2f} (± {result['std_return']:.2f})" in lines[1]
    assert len(result["returns"]) == 3 and result["checkpoint"] == "200"
    # the two-step game and a greedy policy are deterministic: the saved policy's return is
    # the one the run's own final evaluation measured
    assert result["mean_return"] == pytest.approx(saved[1]["final_mean_return"])
    status, out, _ = mava(capsys, "evaluate", run_dir, "--checkpoint", 100, "--episodes", 1)
    assert status == 0 and out.startswith("checkpoint 100 of ")


def test_evaluate_refuses_what_it_cannot_evaluate(saved, tmp_path, capsys, fresh_cli):
    run_dir = _copy(saved, tmp_path)
    cases = [
        ([tmp_path / "missing"], f"no run directory {tmp_path / 'missing'}"),
        ([tmp_path], f"{tmp_path} is not a run directory: it has no config.json"),
        ([run_dir, "--episodes", 0], "config key '--episodes': must be >= 1, got 0"),
        ([run_dir, "--checkpoint", 150], f"no checkpoint '150' in {run_dir}; available: 100, 200"),
        ([run_dir, "--record"], "config key 'run.record_eval': debug:two_step cannot render RGB frames"),
    ]
    for argv, message in cases:
        status, out, err = mava(capsys, "evaluate", *argv)
        assert status == 2 and out == "", argv
        (line,) = err.strip().splitlines()
        assert line.startswith(f"mava: error: {message}"), line


# ---------------------------------------------------------------------- faults
class PoisonAfter:
    """Adds a loss term that becomes NaN from trainer step ``step`` on."""

    def __init__(self, step):
        self.step = step

    @hookimpl
    def mava_trainer_loss(self, trainer, losses, batch):
        import tensorflow as tf

        nan = tf.constant(float("nan"))
        return {"poison": tf.where(trainer.step_counter >= self.step, nan, tf.constant(0.0))}


def test_a_nan_loss_stops_the_run_naming_the_loss_and_keeps_the_last_good_checkpoint(tmp_path):
    from mava_core.errors import TrainingDivergedError

    pm = PluginManager()
    pm.register(PoisonAfter(20), name="poison")
    with pytest.raises(TrainingDivergedError) as caught:
        _run(tmp_path, 300, pm)
    # trainer steps owed by 100 env steps: 12, by 200: 37; the step after 20 has a NaN loss
    assert str(caught.value) == (
        "training diverged at trainer step 21: loss/poison, loss/total became NaN or Inf; lower the learning rate or "
        f"set max_gradient_norm; the last good checkpoint, 100, is kept in {tmp_path}/checkpoints"
    )
    (kept,) = [e for e in _manifest(tmp_path)["checkpoints"]]
    assert kept["id"] == "100" and kept["counts"]["trainer_steps"] == 12


# --------------------------------------------------------------------- bad input
def _truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(max(1, os.path.getsize(path) // 2))


def _edit_manifest(run_dir):
    path = run_dir / "checkpoints" / "checkpoint.json"
    manifest = json.loads(path.read_text())
    manifest["checkpoints"][-1]["counts"]["env_steps"] = 150
    path.write_text(json.dumps(manifest))


def _as_written_by_an_older_mava(run_dir):
    """The manifest as a Mava that recorded the global state for every system wrote it (no ``replay_state``)."""
    from mava_plugins.checkpointing import manifest as mf

    root = str(run_dir / "checkpoints")
    manifest = mf.read_manifest(root, str(run_dir))
    del manifest["replay_state"]
    mf.write_manifest(root, manifest)


REFUSED = [
    ("truncated trainer file", lambda d: _truncate(d / "checkpoints/ckpt-200/trainer.data-00000-of-00001"), [],
     "checkpoint 200 in {d} is corrupt: ckpt-200/trainer.data-00000-of-00001 does not match the manifest"),
    ("truncated replay file", lambda d: _truncate(d / "checkpoints/ckpt-200/replay/chunks.tfrecord"), [],
     "checkpoint 200 in {d} is corrupt: ckpt-200/replay/chunks.tfrecord does not match the manifest"),
    ("missing file", lambda d: os.remove(d / "checkpoints/ckpt-200/trainer.index"), [],
     "checkpoint 200 in {d} is incomplete: ckpt-200/trainer.index is missing"),
    ("edited manifest", _edit_manifest, [], "checkpoint manifest {d}/checkpoints/checkpoint.json was modified or is corrupt"),
    ("truncated manifest", lambda d: _truncate(d / "checkpoints/checkpoint.json"), [], "is unreadable or not valid JSON"),
    ("other system", None, ["vdn", "debug:two_step"],
     "checkpoint in {d} was written by system 'madqn', this run is 'vdn'"),
    ("other environment", None, ["madqn", "debug:simple_spread"],
     "checkpoint in {d} was written on environment 'debug:two_step', this run is on 'debug:simple_spread'"),
    ("changed setting", None, ["learning_rate=0.01"],
     "config key 'learning_rate': the checkpoint in {d} was trained with 0.0005, this run has 0.01"),
    ("other replay layout", None, ["dataset.stack_agents=false"],
     "config key 'dataset.stack_agents': the checkpoint in {d} was trained with True, this run has False"),
    ("replay items with the global state", _as_written_by_an_older_mava, [],
     "the checkpoint in {d} cannot be resumed: its replay items hold the environment's global state, which madqn does "
     "not read"),
    ("other backend", None, ["--backend", "launchpad"],
     "config key 'run.backend': the checkpoint in {d} was trained with 'local', this run has 'launchpad'"),
    ("budget spent", None, ["--env-steps", "200"],
     "the run in {d} already reached its budget: checkpoint 200 is at 200 env steps, the budget is 200"),
    ("no checkpoint", lambda d: shutil.rmtree(d / "checkpoints"), [], "{d} has no checkpoint to resume from"),
]


@pytest.mark.parametrize("damage, argv, message", [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_a_bad_or_mismatched_checkpoint_is_refused_before_anything_runs(saved, tmp_path, capsys, fresh_cli, damage, argv, message):
    run_dir = _copy(saved, tmp_path)
    if damage is not None:
        damage(run_dir)
    before = (run_dir / "logs" / "executor_0.csv").read_text()
    status, out, err = mava(capsys, "run", "--resume", run_dir, "--env-steps", 400, *argv)
    assert status == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert message.format(d=run_dir) in line
    assert (run_dir / "logs" / "executor_0.csv").read_text() == before  # nothing ran


def test_a_new_run_refuses_a_directory_that_holds_checkpoints(saved, tmp_path, capsys, fresh_cli):
    run_dir = _copy(saved, tmp_path)
    status, _, err = mava(capsys, "run", "madqn", "debug:two_step", "--run-dir", run_dir)
    assert status == 2
    assert err.strip() == (f"mava: error: {run_dir} already holds checkpoints of an earlier run; continue it with "
                           f"`mava run --resume {run_dir}` or choose another --run-dir")


def test_a_changed_environment_spec_is_refused():
    from mava_core.errors import CheckpointError
    from mava_plugins.checkpointing.manifest import check_spec

    spec = {"kind": "parallel", "state": [4], "action_masks": False,
            "agents": {"agent_0": {"observation": {"shape": [4], "dtype": "float32"}, "action": {"discrete": True}}}}
    changed = json.loads(json.dumps(spec))
    changed["agents"]["agent_0"]["observation"]["shape"] = [5]
    with pytest.raises(CheckpointError, match="agent_0: .*'shape': \\[4\\].* in the checkpoint, .*'shape': \\[5\\].* now"):
        check_spec({"spec": spec}, "RUN", changed)
    with pytest.raises(CheckpointError, match=r"agents \['agent_0'\] in the checkpoint, \['agent_0', 'agent_1'\] now"):
        check_spec({"spec": spec}, "RUN", {**changed, "agents": {**changed["agents"], "agent_1": {}}})


BAD_SETTINGS = [
    ("run.checkpoint_every", "-1", "must be >= 0, got -1"),
    ("run.checkpoint_every", "often", "expected int, got 'often'"),
    ("run.checkpoint_every_seconds", "-5", "must be >= 0.0, got -5.0"),
    ("run.checkpoint_keep", "0", "must be >= 1, got 0"),
    ("run.checkpoint", "maybe", "expected bool (true/false), got 'maybe'"),
]


@pytest.mark.parametrize("key, value, problem", BAD_SETTINGS)
def test_bad_checkpoint_settings_name_their_key(key, value, problem, tmp_path):
    with pytest.raises(ConfigError) as caught:
        SystemBuilder(RunConfig(system="madqn", environment="debug:two_step", run_dir=str(tmp_path)),
                      overrides=[f"{key}={value}"], plugin_manager=PluginManager())
    assert str(caught.value) == f"config key '{key}': {problem}"


def test_the_csv_logger_continues_a_resumed_run(tmp_path):
    from mava_plugins.loggers.csv_logger import CSVLogger

    logger = CSVLogger(str(tmp_path), "executor_0")
    for steps in (10, 20, 30):
        logger.write({"env_steps": steps, "episode_return": float(steps)})
    logger.close()
    resumed = CSVLogger(str(tmp_path), "executor_0", resume_at=20)  # the checkpoint was at 20 env steps
    resumed.write({"env_steps": 25, "episode_return": 1.0, "new_metric": 2.0})
    resumed.close()
    rows = read_csv(tmp_path / "logs" / "executor_0.csv")
    assert [r["env_steps"] for r in rows] == ["10", "20", "25"]
    assert [r["new_metric"] for r in rows] == ["", "", "2.0"]
    assert float(rows[2]["wall_time"]) >= float(rows[1]["wall_time"])


# --------------------------------------------------------------------- shutdown
def _mava_process(run_dir, marker, *argv):
    env = {**os.environ, LAUNCHPAD_MARKER: marker, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "mava_core.cli", *map(str, argv)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(path, rows, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if os.path.exists(path) and len(read_csv(path)) >= rows:
            return
        time.sleep(0.5)
    process.kill()
    raise AssertionError(f"{path} never had {rows} rows; {process.communicate()[1][-2000:]}")


def test_sigterm_stops_a_local_run_after_a_final_checkpoint(tmp_path):
    marker = uuid.uuid4().hex
    process = _mava_process(tmp_path, marker, "run", "madqn", "debug:two_step", "--env-steps", 1_000_000,
                            "--run-dir", tmp_path, "dataset.min_size=20", "dataset.batch_size=8", "run.loggers=csv",
                            "run.eval_every=1000000", "run.eval_episodes=1", "run.random_baseline_episodes=0")
    _wait_for_rows(tmp_path / "logs" / "executor_0.csv", 20, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err[-2000:]
    latest = _manifest(tmp_path)["checkpoints"][-1]
    assert 40 <= latest["counts"]["env_steps"] < 1_000_000 and latest["counts"]["trainer_steps"] > 0
    assert err.strip().endswith(
        f"mava: stopped: run stopped by SIGTERM at {latest['counts']['env_steps']} env steps; checkpoint {latest['id']} "
        f"is in {tmp_path}/checkpoints; continue with: mava run --resume {tmp_path}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("replay_in_trainer", [False, True], ids=["replay_process", "replay_in_trainer"])
def test_sigterm_stops_a_launchpad_run_cleanly_it_resumes_and_is_evaluated(replay_in_trainer, tmp_path, capsys, fresh_cli):
    # with replay_in_trainer the trainer's process serves replay: its final checkpoint holds that
    # server's replay, which the resumed run (same settings) restores into its trainer's process
    marker = uuid.uuid4().hex
    settings = ["dataset.min_size=200", "dataset.batch_size=32", "run.loggers=csv", "run.eval_every=100000",
                "run.eval_episodes=1", "run.random_baseline_episodes=1", "run.log_every_seconds=0",
                f"run.backend_options.replay_in_trainer={str(replay_in_trainer).lower()}"]
    process = _mava_process(tmp_path, marker, "run", "madqn", "debug:simple_spread", "--backend", "launchpad",
                            "--executors", 2, "--env-steps", 1_000_000, "--run-dir", tmp_path, *settings)
    _wait_for_rows(tmp_path / "logs" / "trainer.csv", 20, process)
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err[-3000:]
    assert time.monotonic() - stopped_at < 30  # a clean stop, not Launchpad's kill after its notice period
    assert "Killing entire runtime" not in err
    assert not processes_with_marker(marker)
    assert not (tmp_path / ".launchpad_program.pkl").exists() and not (tmp_path / ".stop_requested").exists()
    latest = _manifest(tmp_path)["checkpoints"][-1]
    saved_steps = latest["counts"]["env_steps"]
    assert 0 < latest["counts"]["trainer_steps"] and saved_steps < 1_000_000
    assert "continue with: mava run --resume" in err
    replay_files = [name for _, _, names in os.walk(tmp_path / "checkpoints" / latest["dir"] / "replay") for name in names]
    assert replay_files  # Reverb's checkpoint of the tables, wherever the server ran

    budget = saved_steps + 500
    process = _mava_process(tmp_path, marker, "run", "--resume", tmp_path, "--env-steps", budget)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err[-3000:]
    assert not processes_with_marker(marker)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["env_steps"] >= budget and summary["trainer_steps"] > latest["counts"]["trainer_steps"]
    assert _manifest(tmp_path)["checkpoints"][-1]["counts"]["env_steps"] >= budget
    rows = read_csv(tmp_path / "logs" / "trainer.csv")
    steps = [int(float(r["trainer_steps"])) for r in rows]
    assert steps == sorted(steps) and steps[-1] > latest["counts"]["trainer_steps"]  # one curve, continued

    # the Launchpad run's directory is evaluated like any other; --record saves the first episode
    final = _manifest(tmp_path)["checkpoints"][-1]
    status, out, err = mava(capsys, "evaluate", tmp_path, "--episodes", 2, "--record")
    assert status == 0, err
    video = tmp_path / "videos" / f"checkpoint_{final['id']}.gif"
    assert f"recorded the first episode: {video}" in out.splitlines()
    assert video.stat().st_size > 0 and json.loads((tmp_path / "evaluation.json").read_text())["video"] == str(video)
