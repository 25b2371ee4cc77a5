"""The system-authoring walkthrough's package, ``docs/examples/mava-softmax-dqn``, as a third party uses it.

It is pip-installed (a real wheel build and install, entry point included) into a directory
of its own that the ``mava`` commands and every Launchpad node find on ``PYTHONPATH``, not
into the shared virtual environment: other tests running at the same time list the
installed plugins and systems and must not see it. Then ``mava`` lists it and trains it on
the two-step game under the local and the Launchpad backends; each run's greedy policy must
beat the uniformly random policy that the same run measures.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "mava-softmax-dqn"
MAVA = Path(sys.executable).with_name("mava")
#: the settings of the walkthrough's training command (docs/systems-authoring.md)
TRAIN = [
    "debug:two_step", "--env-steps", "1500", "--seed", "0",
    "discount=1.0", "learning_rate=0.005", "target_update_period=50",
    "exploration.start=2.0", "exploration.end=0.05", "exploration.decay_steps=1000",
    "dataset.min_size=100", "dataset.batch_size=32", "dataset.samples_per_insert=32",
    "run.eval_every=1500", "run.eval_episodes=4", "run.random_baseline_episodes=200",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The example installed by pip from a copy of its source (the build writes beside the source)."""
    root = tmp_path_factory.mktemp("softmax_dqn")
    source = root / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = root / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
               "--target", str(target), str(source)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return target


def _env(site) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH", "")])))


def _mava(site, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(MAVA), *args], capture_output=True, text=True, env=_env(site), timeout=timeout)


def test_installed_package_is_found_by_the_console_script(site):
    plugins = {p["name"]: p for p in json.loads(_mava(site, "plugins", "--json").stdout)}
    assert plugins["softmax_dqn"]["distribution"] == "mava-softmax-dqn"
    assert plugins["softmax_dqn"]["status"] == "loaded"
    assert plugins["softmax_dqn"]["registers"] == ["system:softmax_dqn", "exploration:linear_temperature"]


def test_the_system_swaps_a_default_and_keeps_the_vector_acting_contract(site, monkeypatch, tmp_path):
    """Its exploration default is the package's schedule; its policy acts in several copies in one call."""
    monkeypatch.syspath_prepend(str(site))
    from mava_softmax_dqn.policy import SoftmaxPolicy

    from mava_core import RunConfig, SystemBuilder
    from mava_core.errors import ConfigError
    from mava_core.plugins import PluginManager

    def builder(**overrides):
        run = RunConfig(system="softmax_dqn", environment="debug:simple_spread", run_dir=str(tmp_path), loggers=("csv",))
        return SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager())

    built = builder()
    assert built.system_config.exploration.name == "linear_temperature"
    with pytest.raises(ConfigError, match="softmax_dqn acts with a feedforward policy") as refused:
        builder(network="gru", dataset="sequence_replay").system
    assert refused.value.key == "network"

    system = built.system
    assert system.vector_acting_refusal() is None
    networks = system.make_networks()
    observations = [built.make_environment(seed=seed).reset().observation for seed in range(3)]

    def act(evaluation: bool, seed: int):
        policy = system.make_policy(networks, evaluation, seed)
        assert isinstance(policy, SoftmaxPolicy)
        return policy, policy.select_actions_batch(observations)

    policy, actions = act(False, 7)
    assert policy.temperature == pytest.approx(1.0)  # the schedule's start
    assert len(actions) == 3 and all(set(copy) == set(observations[0]) for copy in actions)
    for copy, copy_actions in zip(observations, actions):
        assert all(copy[a].action_mask[copy_actions[a]] == 1 for a in copy_actions)
    assert actions == act(False, 7)[1]  # seeded
    _, greedy = act(True, 1)
    for copy, copy_actions in zip(observations, greedy):
        for agent, action in copy_actions.items():
            q_values = networks.online[_key(networks, agent)](np.asarray(copy[agent].observation, np.float32)[None])[0]
            assert action == int(np.argmax(np.where(copy[agent].action_mask > 0, q_values, -np.inf)))


def _key(networks, agent: str) -> str:
    return next(key for key, agents in networks.groups.items() if agent in agents)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "launchpad"])
def test_the_walkthrough_system_learns_the_two_step_game(site, tmp_path, backend):
    """The trained greedy policy beats the same run's untrained greedy policy and the random policy.

    The untrained greedy policy of seed 0 takes the safe branch (7; checked here, since on this
    game an untrained policy can score 8 by chance); the random policy averages 4.75. Measured
    with these settings before committing (a loaded 2-core machine): 3 local and 3 Launchpad
    runs all ended at 8, the optimal joint return, against a random baseline of 4.93. With the
    optimiser switched off (``MAVA_DISABLE_OPTIMISER_STEP=1``) the run stays at 7 and fails.
    """
    run_dir = tmp_path / backend
    result = _mava(site, "run", "softmax_dqn", *TRAIN, "--backend", backend, "--run-dir", str(run_dir), timeout=540)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    untrained = summary["evaluations"][0]
    assert untrained["env_steps"] == 0 and untrained["mean_return"] < 8.0
    assert summary["random_return"] == pytest.approx(4.75, abs=0.6)
    assert summary["final_mean_return"] > untrained["mean_return"]
    assert summary["final_mean_return"] >= summary["random_return"] + 1.5
