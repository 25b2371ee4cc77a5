"""Environments' carried-over state: normalisation statistics saved with checkpoints, resumed, evaluated."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from helpers import local_run
from test_wrappers import _ScriptedEnv, _stream

from mava_core import environment_state, evaluation
from mava_core.environment_loop import EnvironmentLoop
from mava_core.errors import CheckpointError
from mava_core.saved_runs import builder_from_run_dir
from mava_plugins.envs.debugging import DebugFamily
from mava_plugins.wrappers.observation_normalisation import ObservationNormalisationWrapper
from mava_plugins.wrappers.reward_normalisation import RewardNormalisationWrapper
from mava_plugins.wrappers.running_stats import RunningMeanStd


# ------------------------------------------------------------------------- running statistics
def test_merged_statistics_equal_those_of_all_samples_together():
    rng = np.random.default_rng(0)
    samples = rng.normal(3.0, 2.0, size=(101, 4))
    parts = [RunningMeanStd((4,)) for _ in range(3)]
    for index, sample in enumerate(samples):
        parts[index % 2 if index < 90 else 2].update(sample)  # uneven parts, one of them late
    merged = RunningMeanStd.merged(parts + [RunningMeanStd((4,))])  # an empty part changes nothing
    assert merged.count == 101
    np.testing.assert_allclose(merged.mean, samples.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(merged.var, samples.var(axis=0), atol=1e-12)
    again = RunningMeanStd.from_dict(json.loads(json.dumps(merged.to_dict())), (4,))
    assert again.count == merged.count and np.array_equal(again.mean, merged.mean) and np.array_equal(again.var, merged.var)


@pytest.mark.parametrize("values,shape,message", [
    ({"count": 1, "mean": [0.0]}, (1,), "keys count, mean and var"),
    ({"count": 1, "mean": [0.0, 1.0], "var": [1.0, 1.0]}, (3,), "shape (2,), this environment's have (3,)"),
    ({"count": 1, "mean": [0.0], "var": [-1.0]}, (1,), "var is negative"),
    ({"count": "x", "mean": [0.0], "var": [1.0]}, (1,), "not numeric"),
])
def test_bad_saved_statistics_are_refused(values, shape, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunningMeanStd.from_dict(values, shape)


# ------------------------------------------------------------------------------- wrappers
def _feed(env, steps):
    env.reset()
    for _ in range(steps):
        env.step({"a": 0, "b": 0})


def test_observation_statistics_restored_normalise_as_the_original_would():
    script = _stream([1.0, 3.0, -2.0, 5.0, 0.5, 2.0])
    original = ObservationNormalisationWrapper(_ScriptedEnv(script))
    _feed(original, 3)
    saved = json.loads(json.dumps(original.saved_state()))  # what a checkpoint holds
    assert set(saved) == {"observation_normalisation"}
    restored = ObservationNormalisationWrapper(_ScriptedEnv(script))
    restored.restore_saved_state(saved)
    assert restored.statistics("a").count == original.statistics("a").count == 4
    restored._environment.t = original._environment.t  # both at the same point of the script
    a, b = original.step({"a": 0, "b": 0}), restored.step({"a": 0, "b": 0})
    for agent in ("a", "b"):
        np.testing.assert_array_equal(a.observation[agent].observation, b.observation[agent].observation)
    fresh = ObservationNormalisationWrapper(_ScriptedEnv(script))
    fresh.reset()
    fresh._environment.t = 3
    assert not np.allclose(fresh.step({}).observation["a"].observation, a.observation["a"].observation)


def test_observation_statistics_of_several_environments_merge_into_those_of_all_their_observations():
    first = ObservationNormalisationWrapper(_ScriptedEnv(_stream([1.0, 2.0, 3.0])))
    second = ObservationNormalisationWrapper(_ScriptedEnv(_stream([10.0, -4.0])))
    _feed(first, 2)
    _feed(second, 1)
    merged = first.merge_saved_states([first.saved_state(), second.saved_state()])
    target = ObservationNormalisationWrapper(_ScriptedEnv(_stream([0.0])))
    target.restore_saved_state(merged)
    seen = np.array([[1.0, -1.0], [2.0, -2.0], [3.0, -3.0], [10.0, -10.0], [-4.0, 4.0]])
    stats = target.statistics("a")
    assert stats.count == 5
    np.testing.assert_allclose(stats.mean, seen.mean(axis=0))
    np.testing.assert_allclose(stats.var, seen.var(axis=0))


def test_statistics_of_another_environment_are_refused_naming_the_wrapper():
    spread = ObservationNormalisationWrapper(DebugFamily.make("simple_spread", num_agents=2))
    spread.reset()
    scripted = ObservationNormalisationWrapper(_ScriptedEnv(_stream([1.0])))
    with pytest.raises(ValueError, match=r"observation_normalisation: the saved statistics are for agents of type"):
        scripted.restore_saved_state(spread.saved_state())
    wrong_shape = {"observation_normalisation": {"a[2]": {"count": 1, "mean": [0.0], "var": [1.0]},
                                                 "b[2]": {"count": 1, "mean": [0.0, 0.0], "var": [1.0, 1.0]}}}
    with pytest.raises(ValueError, match=r"observation_normalisation: a\[2\]: the saved statistics have shape"):
        scripted.restore_saved_state(wrong_shape)
    assert scripted.statistics("a").count == 0  # nothing half-restored


def test_reward_scale_restored_equals_the_original():
    script = [((0.0, 0.0), (0.0, 0.0), 0.0, 0.0, 1.0, 1.0)] + [((0.0, 0.0), (0.0, 0.0), r, -2 * r, 1.0, 1.0)
                                                               for r in (1.0, 3.0, -1.0, 2.0)]
    original = RewardNormalisationWrapper(_ScriptedEnv(script))
    _feed(original, 4)
    restored = RewardNormalisationWrapper(_ScriptedEnv(script))
    restored.restore_saved_state(json.loads(json.dumps(original.saved_state())))
    for agent in ("a", "b"):
        assert restored.scale(agent) == original.scale(agent) != 1.0


def test_a_restarted_environment_keeps_the_failed_one_s_statistics():
    class Executor:
        def use_environment(self, environment):
            self.environment = environment

    script = _stream([1.0, 3.0, -2.0, 5.0])
    loop = EnvironmentLoop(ObservationNormalisationWrapper(_ScriptedEnv(script)), Executor(), hooks=type("H", (), {"mava_env_loop_step": None})())
    loop.environment_factory = lambda restarts: ObservationNormalisationWrapper(_ScriptedEnv(script))
    _feed(loop.environment, 2)
    before = loop.environment.statistics("a").to_dict()
    loop.replace_environment()
    assert loop.executor.environment is loop.environment
    assert loop.environment.statistics("a").to_dict() == before and before["count"] == 3


# ------------------------------------------------------------------------- runs, resume, evaluate
AGENTS, EPISODE, HALF, FULL = 2, 5, 200, 400
OVERRIDES = {"dataset.min_size": 50, "dataset.batch_size": 16, "dataset.samples_per_insert": 2.0,
             "run.checkpoint_every": 100, "run.env_wrappers": "observation_normalisation,reward_normalisation"}


def _run(run_dir, env_steps):
    return local_run(run_dir, "madqn", "debug:simple_spread", env_steps, OVERRIDES, eval_every=env_steps, eval_episodes=1,
                     random_baseline_episodes=1, env_options={"num_agents": AGENTS, "max_steps": EPISODE})


def _saved(run_dir):
    with open(os.path.join(run_dir, "checkpoints", "environments", "executor_0.json")) as handle:
        return json.load(handle)["copies"]


def _observations_seen(steps):
    """Observations both agents (one type: one group of statistics) returned in ``steps`` steps."""
    return AGENTS * (steps + steps // EPISODE)  # every step's and every episode's reset observation


@pytest.fixture(scope="module")
def normalised_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("normalised") / "run"
    _run(run_dir, HALF)
    return run_dir


def test_executors_save_their_statistics_and_a_resumed_run_continues_them(normalised_run, tmp_path):
    import shutil

    [copy] = _saved(normalised_run)
    assert set(copy) == {"observation_normalisation", "reward_normalisation"}
    [group] = copy["observation_normalisation"].values()
    assert group["count"] == _observations_seen(HALF)
    assert copy["reward_normalisation"]["agent_0"]["count"] == HALF  # one return per step
    run_dir = tmp_path / "run"
    shutil.copytree(normalised_run, run_dir)
    builder_from_run_dir(str(run_dir), [("run.env_steps", FULL)], resume=True).launch()
    [copy] = _saved(run_dir)
    [group] = copy["observation_normalisation"].values()
    assert group["count"] == _observations_seen(FULL)  # continued, not started afresh
    assert copy["reward_normalisation"]["agent_0"]["count"] == FULL


def test_evaluate_normalises_with_the_executors_statistics(normalised_run, monkeypatch):
    restored = []
    original = environment_state.restore_merged

    def spy(checkpointer, environment):
        found = original(checkpointer, environment)
        restored.append((found, environment.saved_state()))
        return found

    monkeypatch.setattr(environment_state, "restore_merged", spy)
    evaluation.evaluate_run(str(normalised_run), episodes=1)
    [(found, state)] = restored
    assert found and state == _saved(normalised_run)[0]  # one executor: its statistics, as saved


def test_a_corrupt_environment_state_is_refused_on_resume_and_evaluate(normalised_run, tmp_path):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(normalised_run, run_dir)
    path = os.path.join(run_dir, "checkpoints", "environments", "executor_0.json")
    with open(path, "w") as handle:
        handle.write('{"copies": [{"observation_normalisation": {"agent[1]": ')
    with pytest.raises(CheckpointError, match="executor_0.json is unreadable or not valid JSON, refusing to use it"):
        evaluation.evaluate_run(str(run_dir), episodes=1)
    with open(path, "w") as handle:
        json.dump({"copies": [{"observation_normalisation": {"agent[3]": {"count": 1, "mean": [0, 0, 0], "var": [1, 1, 1]}}}]}, handle)
    with pytest.raises(CheckpointError, match="does not fit this run's environment: observation_normalisation"):
        builder_from_run_dir(str(run_dir), [("run.env_steps", FULL)], resume=True).launch()
