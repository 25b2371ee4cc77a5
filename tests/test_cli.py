"""The ``mava`` command, called in-process through ``mava_core.cli.main``.

Every test gets a fresh process-wide plugin manager (restored afterwards), so nothing one
test registers leaks into another.
"""
from __future__ import annotations

import json
import os

import pytest
from helpers import read_csv

from mava_core import cli, plugins
from mava_core.plugins import PluginManager

BUILTIN = ("architectures", "debugging_envs", "env_wrappers", "exploration", "feedforward_networks",
           "launchpad_backend", "local_backend", "loggers", "madqn", "pettingzoo", "reverb_dataset")
_REGISTRY = PluginManager().registry


def names(kind: str) -> str:
    """What an unknown-name message lists for ``kind``: every registered name, sorted."""
    return ", ".join(_REGISTRY.names(kind))


@pytest.fixture(autouse=True)
def fresh_plugin_manager(monkeypatch):
    pm = PluginManager()
    monkeypatch.setattr(plugins, "_DEFAULT", pm)
    return pm


def mava(capsys, *argv: str):
    """Run ``mava ARGV``; returns (exit status, stdout, stderr)."""
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ------------------------------------------------------------------------------ listings
def test_plugins_lists_the_builtins_as_loaded(capsys):
    status, out, err = mava(capsys, "plugins")
    assert status == 0 and err == ""
    lines = {line.split()[0]: line.split(maxsplit=3) for line in out.splitlines() if line and not line.startswith(" ")}
    for name in BUILTIN:
        assert lines[name][2] == "loaded", lines[name]
    assert "system:madqn" in lines["madqn"][3].split(", ")
    assert "backend:local" in lines["local_backend"][3].split(", ")


def test_plugins_json(capsys):
    status, out, _ = mava(capsys, "plugins", "--json")
    assert status == 0
    report = {plugin["name"]: plugin for plugin in json.loads(out)}
    assert set(BUILTIN) <= set(report)
    for name in BUILTIN:
        assert (report[name]["status"], report[name]["error"]) == ("loaded", None)
        assert report[name]["module"].startswith("mava_plugins.")
        assert report[name]["registers"]
    assert report["debugging_envs"]["registers"] == ["environment:debug"]
    assert set(report["madqn"]) == {"name", "module", "distribution", "version", "status", "error", "registers"}


def test_systems(capsys):
    status, out, _ = mava(capsys, "systems")
    assert status == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == _REGISTRY.names("system")
    assert any(line.startswith("madqn ") and line.endswith("[plugin: madqn]") for line in lines)


def test_envs_text_and_json(capsys):
    status, out, _ = mava(capsys, "envs")
    assert status == 0
    lines = out.splitlines()
    assert "debug  [plugin: debugging_envs]" in lines
    assert {"  debug:two_step", "  debug:simple_spread", "  pettingzoo:simple_spread_v3"} <= set(lines)
    status, out, _ = mava(capsys, "envs", "--json")
    listing = json.loads(out)
    assert status == 0 and listing["debug"]["tasks"] == ["two_step", "simple_spread", "switch_riddle"]
    assert listing["debug"]["plugin"] == "debugging_envs"


def test_components_of_one_kind(capsys):
    status, out, _ = mava(capsys, "components", "--kind", "exploration")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "# exploration"
    assert [line.split()[0] for line in lines[1:]] == _REGISTRY.names("exploration")
    assert {"constant_epsilon", "exponential_epsilon", "linear_epsilon", "gaussian_noise"} <= set(
        _REGISTRY.names("exploration")
    )
    assert all(line.endswith("[plugin: exploration]") for line in lines[1:])


def test_components_of_every_kind(capsys):
    from mava_core.plugins import PluginManager

    kinds = PluginManager().registry.kinds()

    status, out, _ = mava(capsys, "components")
    assert status == 0
    assert [line for line in out.splitlines() if line.startswith("# ")] == [f"# {kind}" for kind in kinds]


def test_config_lists_every_setting_with_type_and_default(capsys):
    status, out, err = mava(capsys, "config", "madqn")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "# system settings" and "# run settings" in lines
    assert "exploration = 'linear_epsilon'  (exploration component)  any registered exploration" in lines
    assert "exploration.decay_steps = 20000  (int)  environment steps (all executors) to go from start to end" in lines
    assert "network.hidden_sizes = (64, 64)  (comma-separated list of int)" in lines
    assert "max_gradient_norm = 10.0  (float or None)" in lines
    assert "run.env_steps = 50000  (int)  budget of environment steps, summed over executors" in lines
    keys = [line.split(" = ")[0] for line in lines if " = " in line]
    assert len(keys) == len(set(keys))
    assert {"learning_rate", "dataset.min_size", "run.backend", "run.loggers"} <= set(keys)


# ------------------------------------------------------------------------ user mistakes
MISTAKES = [
    (["run", "qmix9", "debug:two_step"], f"unknown system 'qmix9'; available: {names('system')}"),
    (["config", "qmix9"], f"unknown system 'qmix9'; available: {names('system')}"),
    (["run", "madqn", "atari:pong"], f"unknown environment 'atari'; available: {names('environment')}"),
    (
        ["run", "madqn", "debug_two_step"],
        "config key 'environment': environments are named family:task (e.g. pettingzoo:simple_spread_v3), "
        "got 'debug_two_step'",
    ),
    (
        ["run", "madqn", "debug:three_step"],
        "unknown debug task 'three_step'; available: simple_spread, switch_riddle, two_step",
    ),
    (
        ["run", "madqn", "debug:two_step", "--backend", "slurm"],
        f"unknown backend 'slurm'; available: {names('backend')}",
    ),
    (
        ["run", "madqn", "debug:two_step", "learning_rat=0.1"],
        "config key 'learning_rat': unknown key; valid keys here are: ",
    ),
    (
        ["run", "madqn", "debug:two_step", "learning_rate=fast"],
        "config key 'learning_rate': expected float, got 'fast'",
    ),
    (
        ["run", "madqn", "debug:two_step", "learning_rate"],
        "config key 'learning_rate': overrides are written key=value (e.g. learning_rate=0.0005)",
    ),
    (["run", "madqn", "debug:two_step", "--env-steps", "0"], "config key 'run.env_steps': must be >= 1, got 0"),
    (
        ["run", "madqn", "debug:two_step", "exploration=exponential_epsilon", "exploration.decay_steps=10"],
        "config key 'exploration.decay_steps': unknown key; valid keys here are: start, end, half_life",
    ),
    (
        ["run", "madqn", "debug:two_step", "env.size=3"],
        "config key 'env.size': unknown option for debug:two_step; valid options: (none)",
    ),
    (
        ["run", "madqn", "debug:two_step", "--plugin", "mava_no_such_plugin_module"],
        "plugin module 'mava_no_such_plugin_module' could not be imported: "
        "No module named 'mava_no_such_plugin_module'",
    ),
    (
        ["components", "--kind", "policy"],
        "unknown component kind 'policy'; available: architecture, backend, dataset, ",
    ),
]


@pytest.mark.parametrize("argv, message", MISTAKES, ids=[" ".join(case[0]) for case in MISTAKES])
def test_user_mistakes_exit_2_with_one_clear_line(capsys, tmp_path, argv, message):
    if argv[0] == "run":
        argv = argv + ["--run-dir", str(tmp_path / "run")]
    status, out, err = mava(capsys, *argv)
    assert status == 2
    assert "Traceback" not in err and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("mava: error: ")
    assert message in line
    assert not (tmp_path / "run" / "logs").exists()


def test_madqn_on_continuous_actions_is_refused(capsys, tmp_path):
    pytest.importorskip("pettingzoo")
    status, _, err = mava(
        capsys,
        "run",
        "madqn",
        "pettingzoo:simple_spread_v3",
        "env.continuous_actions=true",
        "--run-dir",
        str(tmp_path / "run"),
    )
    assert status == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert "madqn" in line and "continuous actions" in line
    assert line == (
        "mava: error: config key 'system': madqn needs discrete actions but pettingzoo:simple_spread_v3 has continuous "
        "actions; use the task's discrete-action variant (for MPE tasks: env.continuous_actions=false)"
    )
    assert not (tmp_path / "run").exists()


def test_argument_errors_are_argparse_usage_errors(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["run", "madqn", "debug:two_step", "--env-steps", "many"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "argument --env-steps: invalid int value: 'many'" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as caught:
        cli.main(["systems", "learning_rate=1"])  # overrides only belong to run
    assert caught.value.code == 2
    assert "unrecognized arguments: learning_rate=1" in capsys.readouterr().err


# ----------------------------------------------------------------------------------- run
def test_a_tiny_run_prints_its_directory_and_result_and_leaves_its_files(capsys, tmp_path):
    run_dir = tmp_path / "run"
    status, out, err = mava(
        capsys,
        "run",
        "madqn",
        "debug:two_step",
        "--env-steps",
        "200",
        "--run-dir",
        str(run_dir),
        "run.eval_every=200",
        "run.eval_episodes=1",
        "run.random_baseline_episodes=1",
        "run.loggers=csv",
        "dataset.min_size=50",
        "dataset.batch_size=16",
    )
    assert status == 0, err
    lines = out.strip().splitlines()
    assert lines[-2] == f"run directory: {os.path.abspath(run_dir)}"
    assert lines[-1].startswith("final mean evaluation return: ")
    assert " | random policy: " in lines[-1]
    assert lines[-1].endswith("[madqn on debug:two_step, 200 env steps, " + lines[-1].rsplit(", ", 1)[1])
    assert "trainer steps]" in lines[-1]

    assert sorted(os.listdir(run_dir / "logs")) == ["evaluator.csv", "executor_0.csv", "trainer.csv"]
    with open(run_dir / "config.json") as handle:
        config = json.load(handle)
    assert config["run"]["env_steps"] == 200 and config["run"]["loggers"] == ["csv"]
    assert config["system"]["dataset"]["options"]["min_size"] == 50
    with open(run_dir / "summary.json") as handle:
        summary = json.load(handle)
    assert (summary["system"], summary["environment"], summary["env_steps"]) == ("madqn", "debug:two_step", 200)
    assert summary["trainer_steps"] > 0
    assert f"{summary['final_mean_return']:.2f}" in lines[-1]
    assert len(read_csv(run_dir / "logs" / "executor_0.csv")) == 100  # two-step episodes


# ------------------------------------------------------------------------ closed pipes
@pytest.mark.parametrize("command", [["envs"], ["plugins"], ["components"]])
def test_a_listing_into_a_closed_pipe_ends_quietly(command):
    """``mava envs | head``: the reader is gone before we write; no BrokenPipeError traceback."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "mava_core.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader goes away at once, as `head` does after its lines
    try:
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert err.decode() == ""
    assert process.returncode == 141  # 128 + SIGPIPE, as a shell reports for `cat` in the same place
