"""Every example script runs as a user runs it (``python examples/...``), on a tiny budget."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "examples").rglob("run_*.py"))
# only run-level settings: examples use different datasets, whose keys differ
TINY = ["--env-steps", "400", "run.eval_every=400", "run.eval_episodes=1", "run.random_baseline_episodes=1", "run.loggers=csv"]


def _run(script: str, run_dir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, script, "--backend", "local", "--executors", "1", "--run-dir", str(run_dir), *TINY, *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_examples_are_found():
    assert "examples/pettingzoo/run_decentralised_feedforward_madqn.py" in EXAMPLES
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("script", EXAMPLES)
def test_example_runs_and_writes_its_summary(script, tmp_path):
    result = _run(script, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"run directory: {tmp_path}" in result.stdout
    assert "final mean evaluation return" in result.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["env_steps"] >= 400


def test_example_reports_a_bad_override_in_one_line(tmp_path):
    result = _run(EXAMPLES[0], tmp_path, "learning_rat=0.1")
    assert result.returncode == 2
    assert "learning_rat" in result.stderr and "valid keys" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_custom_component_defined_in_a_script_reaches_launchpad_nodes(tmp_path):
    """The cosine schedule is registered by a plugin object in the script, not an installed package."""
    script = "examples/custom/run_custom_exploration_madqn.py"
    command = [
        sys.executable, script, "--backend", "launchpad", "--executors", "2", "--run-dir", str(tmp_path),
        *TINY, "exploration.period=300", "dataset.min_size=100", "dataset.batch_size=16",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["system"]["exploration"]["name"] == "cosine_epsilon"
    assert config["system"]["exploration"]["options"]["period"] == 300
    assert sorted(p.name for p in (tmp_path / "logs").glob("executor_*.csv")) == ["executor_0.csv", "executor_1.csv"]
