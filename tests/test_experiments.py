"""Multi-seed experiments: the estimators on hand-computed cases, ``mava report`` on known scores, and a real grid.

The grid test runs ``mava experiment`` (2 systems x 1 task x 3 seeds on the two-step game) as
a separate process, kills it (SIGKILL) once the first run has finished, runs it again with
``--resume`` and checks that the finished run was kept, not run again; then ``mava report``
must print the table and write the plots.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mava_core.errors import MavaError
from mava_plugins.experiments import stats
from mava_plugins.experiments.grid import FINISHED, NEW, RESUMABLE, Cell, Grid, prepare, status
from mava_plugins.experiments.report import build_report, find_runs, parse_bounds


# ---------------------------------------------------------------------------- estimators
def test_interquartile_mean_trims_a_quarter_of_the_runs_at_each_end():
    assert stats.iqm(np.arange(1, 9)) == 4.5  # 1..8: drop 1, 2 and 7, 8 -> mean(3, 4, 5, 6)
    assert stats.iqm([0.0, 0.5, 1.0, 1.0]) == 0.75  # drop 0 and one 1 -> mean(.5, 1)
    assert stats.iqm([3.0, 100.0, -50.0]) == 17.666666666666668  # n = 3: nothing cut (floor(3/4) = 0)
    np.testing.assert_array_equal(stats.iqm(np.array([[1, 2, 3, 100], [0, 0, 0, 4]])), [2.5, 0.0])


def test_stratified_bootstrap_resamples_within_tasks():
    rng = np.random.default_rng(0)
    # task A always 0, task B always 10: any stratified replicate has mean exactly 5 (a plain bootstrap would not)
    point, low, high = stats.point_and_interval([np.zeros(2), np.full(2, 10.0)], stats.mean, rng, replicates=500)
    assert (point, low, high) == (5.0, 5.0, 5.0)
    # one task with runs 0 and 10: replicate means are 0, 5, 10 with chances 1/4, 1/2, 1/4 -> 95% interval [0, 10]
    point, low, high = stats.point_and_interval([np.array([0.0, 10.0])], stats.mean, rng, replicates=2000)
    assert (point, low, high) == (5.0, 0.0, 10.0)
    resampled = stats.stratified_resample([np.array([1.0, 2.0]), np.array([7.0, 8.0, 9.0])], 50, rng)
    assert resampled.shape == (50, 5)
    assert set(resampled[:, :2].ravel()) <= {1.0, 2.0} and set(resampled[:, 2:].ravel()) <= {7.0, 8.0, 9.0}


def test_probability_of_improvement_counts_pairs_and_half_ties_averaged_over_tasks():
    # task 1: x (1, 3) vs y (2, 2): 3 beats both, 1 neither -> 2 / 4 = .5; task 2: x 5 vs y 5: a tie -> .5;
    # task 3: x 4 beats y 0 -> 1. Mean over tasks: (.5 + .5 + 1) / 3
    x = [np.array([1.0, 3.0]), np.array([5.0]), np.array([4.0])]
    y = [np.array([2.0, 2.0]), np.array([5.0]), np.array([0.0])]
    assert stats.probability_of_improvement_point(x, y) == pytest.approx(2.0 / 3.0)
    point, low, high = stats.probability_of_improvement([np.array([2.0, 3.0])], [np.array([0.0, 1.0])], np.random.default_rng(0))
    assert (point, low, high) == (1.0, 1.0, 1.0)  # every run of X beats every run of Y, in every replicate
    with pytest.raises(ValueError, match="same tasks"):
        stats.probability_of_improvement_point(x, y[:2])


def test_performance_profile_is_the_fraction_of_runs_above_each_threshold():
    rng = np.random.default_rng(0)
    # task 1: .2, .6; task 2: .9 (tasks weigh equally): above .5 -> (1/2 + 1) / 2 = .75; above .1 -> 1; above .95 -> 0
    profile, low, high = stats.performance_profile([np.array([0.2, 0.6]), np.array([0.9])], np.array([0.1, 0.5, 0.95]), rng)
    np.testing.assert_allclose(profile, [1.0, 0.75, 0.0])
    assert np.all(low <= profile) and np.all(profile <= high)
    assert (low[0], high[0], low[2], high[2]) == (1.0, 1.0, 0.0, 0.0)


# ------------------------------------------------------------------------------ reports
def _fake_run(root, system, seed, final, evaluations, task="debug:two_step", random_return=4.0):
    directory = root / system / f"seed_{seed}"
    directory.mkdir(parents=True)
    summary = {"system": system, "environment": task, "seed": seed, "env_steps": 100, "final_mean_return": final,
               "random_return": random_return, "evaluations": [{"env_steps": s, "mean_return": r} for s, r in evaluations]}
    (directory / "summary.json").write_text(json.dumps(summary))


def test_report_normalises_known_bounds_and_gives_hand_computed_numbers(tmp_path):
    # madqn's final returns 8, 8, 0, 4 -> normalised by the two-step game's bounds [0, 8]: 1, 1, 0, .5
    for seed, final in enumerate([8.0, 8.0, 0.0, 4.0]):
        _fake_run(tmp_path, "madqn", seed, final, [(0, 0.0), (50, final / 2), (100, final)])
    for seed, final in enumerate([0.0, 0.0, 8.0]):  # vdn: 0, 0, 1
        _fake_run(tmp_path, "vdn", seed, final, [(0, 0.0), (100, final)])
    (tmp_path / "madqn" / "seed_9").mkdir()
    (tmp_path / "madqn" / "seed_9" / "summary.json").write_text('{"system": "madqn", "env')  # killed while written: skipped
    records = find_runs([str(tmp_path)])
    assert sorted((r.system, r.seed) for r in records) == [("madqn", 0), ("madqn", 1), ("madqn", 2), ("madqn", 3),
                                                            ("vdn", 0), ("vdn", 1), ("vdn", 2)]
    report = build_report(records, str(tmp_path / "report"), parse_bounds([]), replicates=200)
    rows = {row["system"]: row for row in report.numbers["rows"]}
    assert rows["madqn"]["scores"] == [1.0, 1.0, 0.0, 0.5]
    assert rows["madqn"]["iqm"][0] == 0.75  # sorted 0, .5, 1, 1: the middle two
    assert rows["madqn"]["mean"][0] == 0.625 and rows["madqn"]["median"] == 0.75
    assert rows["vdn"]["iqm"][0] == pytest.approx(1.0 / 3.0)  # three runs: nothing trimmed
    assert rows["madqn"]["random"] == 0.5  # random return 4 of [0, 8]
    # P(madqn > vdn), pairs (1, 1, 0, .5) x (0, 0, 1): each 1 wins twice and ties once (2.5), 0 ties twice (1),
    # .5 wins twice (2): 8 / 12; the other way round 4 / 12
    improvement = {(i["x"], i["y"]): i["probability"][0] for i in report.numbers["improvement"]}
    assert improvement[("madqn", "vdn")] == pytest.approx(8.0 / 12.0)
    assert improvement[("vdn", "madqn")] == pytest.approx(4.0 / 12.0)
    assert "| debug:two_step | madqn | 4 | normalised | 0.750 [" in report.table
    assert "| madqn > vdn | 0.667 [" in report.table
    for figure in report.figures:
        assert open(figure, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(figure) > 10_000
    assert {os.path.basename(f) for f in report.figures} == {"learning_curves.png", "performance_profile.png"}


def test_report_keeps_raw_returns_where_no_bounds_are_known(tmp_path):
    for seed, final in enumerate([-20.0, -10.0]):
        _fake_run(tmp_path, "madqn", seed, final, [(0, -30.0), (100, final)], task="debug:simple_spread", random_return=-25.0)
    report = build_report(find_runs([str(tmp_path)]), str(tmp_path / "report"), parse_bounds([]), replicates=100)
    (row,) = report.numbers["rows"]
    assert row["scores"] == [-20.0, -10.0] and not row["normalised"] and row["random"] == -25.0
    assert "| debug:simple_spread | madqn | 2 | raw return | -15.000 [" in report.table
    assert [os.path.basename(f) for f in report.figures] == ["learning_curves.png"]  # no profile of raw returns
    bounded = build_report(find_runs([str(tmp_path)]), str(tmp_path / "r2"), parse_bounds(["debug:simple_spread=-30:0"]), 100)
    assert bounded.numbers["rows"][0]["scores"] == pytest.approx([1 / 3, 2 / 3])


@pytest.mark.parametrize("items, message", [
    (["debug:two_step"], "must be TASK=LOW:HIGH"),
    (["debug:two_step=1:1"], "LOW must be below HIGH"),
])
def test_bad_bounds_are_one_line_errors(items, message):
    with pytest.raises(MavaError, match=message):
        parse_bounds(items)


# --------------------------------------------------------------------------------- grids
def test_grid_overrides_by_system_and_one_line_errors(tmp_path):
    grid = Grid(["madqn", "vdn"], ["debug:two_step"], [0, 1], 100, ["learning_rate=0.01", "vdn:dataset.min_size=7"])
    assert grid.overrides_for("madqn") == ["learning_rate=0.01"]
    assert grid.overrides_for("vdn") == ["learning_rate=0.01", "dataset.min_size=7"]
    assert [c.run_dir for c in grid.cells("x")][:2] == ["x/madqn/debug-two_step/seed_0", "x/madqn/debug-two_step/seed_1"]
    for arguments, message in [
        ((["madqn"], ["debug:two_step"], [0, 0], 10, []), "seeds of an experiment must not repeat"),
        ((["madqn"], ["two_step"], [0], 10, []), "must be family:task"),
        ((["madqn"], ["debug:two_step"], [0], 10, ["qmix:learning_rate=1"]), "names system 'qmix', which is not in the grid"),
        ((["madqn"], ["debug:two_step"], [0], 10, ["learning_rate"]), "must be key=value"),
        (([], ["debug:two_step"], [0], 10, []), "at least one of systems"),
    ]:
        with pytest.raises(MavaError, match=message):
            Grid(*arguments)
    prepare(str(tmp_path), grid)
    assert prepare(str(tmp_path), None) == grid  # --resume reads it back
    with pytest.raises(MavaError, match="holds a different experiment"):
        prepare(str(tmp_path), Grid(["madqn"], ["debug:two_step"], [0], 100))


def test_run_status_is_finished_only_at_the_budget(tmp_path):
    cell = Cell("madqn", "debug:two_step", 0, str(tmp_path / "run"))
    assert status(cell, 100) == NEW
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "checkpoint.json").write_text("{}")
    assert status(cell, 100) == RESUMABLE
    (tmp_path / "run" / "summary.json").write_text(json.dumps({"final_mean_return": 1.0, "env_steps": 60}))
    assert status(cell, 100) == RESUMABLE  # a shorter earlier budget: resume to the new one
    (tmp_path / "run" / "summary.json").write_text(json.dumps({"final_mean_return": 1.0, "env_steps": 100}))
    assert status(cell, 100) == FINISHED


GRID = ["--systems", "madqn,vdn", "--tasks", "debug:two_step", "--seeds", "0,1,2", "--env-steps", "120",
        "dataset.min_size=32", "dataset.batch_size=16", "run.eval_every=60", "run.eval_episodes=2",
        "run.random_baseline_episodes=2", "run.checkpoint_every=60"]


#: the installed command (``python -m mava_core.cli`` in the repository would read a stale ``mava.egg-info`` there)
MAVA = os.path.join(os.path.dirname(sys.executable), "mava")


def _mava(*args):
    return [MAVA, *args]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_killed_experiment_resumes_without_rerunning_finished_runs_and_reports(tmp_path):
    root = tmp_path / "experiment"
    first = root / "madqn" / "debug-two_step" / "seed_0" / "summary.json"
    log = open(tmp_path / "first.log", "w")
    process = subprocess.Popen(_mava("experiment", str(root), *GRID), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 400
        while not first.exists() or json.loads(first.read_text() or "{}").get("final_mean_return") is None:
            assert process.poll() is None, f"the experiment ended before its first run did: {(tmp_path / 'first.log').read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the first run did not finish in 400 s"
            time.sleep(0.2)
    except ValueError:  # summary.json seen mid-write: wait for it once more
        time.sleep(1.0)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        log.close()
    kept = first.read_text()
    kept_mtime = first.stat().st_mtime
    finished_before = sum(1 for p in root.glob("*/*/seed_*/summary.json"))
    assert 1 <= finished_before < 6, "killed after the first run and before the last"

    resumed = subprocess.run(_mava("experiment", str(root), "--resume"), cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"6 runs, {finished_before} finished" in resumed.stdout
    assert resumed.stdout.count("running ") == 6 - finished_before  # only the unfinished ones ran
    assert first.read_text() == kept and first.stat().st_mtime == kept_mtime
    summaries = [json.loads(p.read_text()) for p in root.glob("*/*/seed_*/summary.json")]
    assert sorted((s["system"], s["seed"]) for s in summaries) == [(s, i) for s in ("madqn", "vdn") for i in range(3)]
    assert all(s["env_steps"] >= 120 for s in summaries)
    again = subprocess.run(_mava("experiment", str(root), "--resume"), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "6 runs, 6 finished, 0 to resume, 0 to start" in again.stdout

    report = subprocess.run(_mava("report", str(root), "--replicates", "500"), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    assert "| debug:two_step | madqn | 3 | normalised |" in report.stdout
    assert "| debug:two_step | vdn | 3 | normalised |" in report.stdout
    assert "| madqn > vdn |" in report.stdout
    for name in ("learning_curves.png", "performance_profile.png", "report.md", "report.json"):
        assert (root / "report" / name).stat().st_size > 0
    assert (root / "report" / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_an_unfinished_run_resumes_from_its_checkpoint(tmp_path):
    """A run finished at a smaller budget is resumed from its checkpoint to the grid's, not started again."""
    from mava_core.plugins import PluginManager
    from mava_plugins.experiments.grid import run_cell

    overrides = ["dataset.min_size=32", "dataset.batch_size=16", "run.eval_every=60", "run.eval_episodes=1",
                 "run.random_baseline_episodes=1"]
    cell = Grid(["madqn"], ["debug:two_step"], [0], 60, overrides).cells(str(tmp_path))[0]
    first = run_cell(Grid(["madqn"], ["debug:two_step"], [0], 60, overrides).to_json(), cell.__dict__, PluginManager())
    assert first["env_steps"] == 60 and status(cell, 120) == RESUMABLE
    second = run_cell(Grid(["madqn"], ["debug:two_step"], [0], 120, overrides).to_json(), cell.__dict__, PluginManager())
    assert second["env_steps"] == 120 and status(cell, 120) == FINISHED
    assert second["trainer_steps"] > first["trainer_steps"]
    # the evaluations before the resume are kept: one curve from 0 to 120 env steps
    assert [e["env_steps"] for e in second["evaluations"]][0] == 0
    assert {60, 120} <= {e["env_steps"] for e in second["evaluations"]}
