"""Executors ask for and record the environment's global state only for systems that read it.

Computing the state is a step's worth of work for some environments (mpe2 builds it from every
agent's observation), and a transition stores it twice, so a system that never reads it
(MADQN, VDN, MADDPG and MAPPO with observation-based critics) must not pay for it.
"""
from __future__ import annotations

import pytest
from helpers import local_run

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder
from mava_plugins.envs.debugging import TwoStepEnvironment

#: (system, environment, overrides, whether it reads the state)
SYSTEMS = [
    ("madqn", "debug:two_step", {}, False),
    ("vdn", "debug:two_step", {}, False),
    ("qmix", "debug:two_step", {}, True),
    ("mappo", "debug:simple_spread", {}, True),  # its default value functions read the state
    ("mappo", "debug:simple_spread", {"architecture": "centralised"}, False),
    ("maddpg", "debug:simple_spread", {}, False),  # centralised critics by default
    ("maddpg", "debug:simple_spread", {"architecture": "state_based"}, True),
]


def _builder(system, environment, overrides, tmp_path):
    run = RunConfig(system=system, environment=environment, run_dir=str(tmp_path / "run"), loggers=())
    return SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager())


@pytest.mark.parametrize("system, environment, overrides, reads", SYSTEMS,
                         ids=[f"{s}-{e}-{o.get('architecture', 'default')}" for s, e, o, _ in SYSTEMS])
def test_the_replay_table_holds_the_state_only_for_a_system_that_reads_it(
    system, environment, overrides, reads, tmp_path
):
    builder = _builder(system, environment, overrides, tmp_path)
    assert builder.env_spec.state is not None  # the environment has one either way
    assert (builder.recorded_spec.state is not None) == reads
    (table,) = builder.system.components.dataset.tables(builder)
    assert ("state" in set(table.info.signature)) == reads


@pytest.mark.parametrize("system, expected_min_calls", [("madqn", 0), ("qmix", 100)])
def test_executors_ask_the_environment_for_its_state_only_when_the_system_reads_it(
    system, expected_min_calls, tmp_path, monkeypatch
):
    calls = []
    original = TwoStepEnvironment.get_state

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(TwoStepEnvironment, "get_state", counted)
    overrides = {"dataset.min_size": 20, "dataset.batch_size": 8, "dataset.samples_per_insert": 2.0}
    summary, _ = local_run(tmp_path / "run", system, "debug:two_step", 100, overrides, eval_episodes=2,
                           random_baseline_episodes=1)
    assert summary["env_steps"] >= 100
    if expected_min_calls == 0:
        assert calls == []
    else:
        # executor and evaluator: one state per timestep (a two-step episode has three)
        assert len(calls) >= expected_min_calls
