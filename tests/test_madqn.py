"""MADQN learns: seeded local-backend runs must beat a random policy by a clear margin."""
from __future__ import annotations

import os

import numpy as np
import pytest
from helpers import local_run, read_csv

TWO_STEP_OVERRIDES = {
    "dataset.min_size": 100,
    "dataset.batch_size": 32,
    "dataset.samples_per_insert": 32.0,
    "exploration.decay_steps": 1_000,
    "target_update_period": 50,
    "discount": 1.0,
    "learning_rate": 0.005,
}


def test_madqn_learns_the_two_step_game(tmp_path):
    """Independent learners find a joint return of 7 (the safe branch); random play averages 4.75."""
    summary, _ = local_run(
        tmp_path, "madqn", "debug:two_step", env_steps=2_000, overrides=TWO_STEP_OVERRIDES, eval_episodes=4,
        random_baseline_episodes=400,
    )
    assert summary["random_return"] == pytest.approx(4.75, abs=0.6)
    assert summary["final_mean_return"] >= 7.0 - 1e-3
    assert summary["trainer_steps"] > 500
    evaluations = read_csv(os.path.join(tmp_path, "logs", "evaluator.csv"))
    assert float(evaluations[0]["mean_return"]) <= float(evaluations[-1]["mean_return"])


def test_acting_is_reproducible_under_a_seed(tmp_path):
    """Before training starts, two runs with one seed act identically; another seed differs."""
    overrides = {"dataset.min_size": 10_000, "dataset.max_size": 10_000}

    def episode_returns(seed, name):
        run_dir = tmp_path / name
        local_run(run_dir, "madqn", "debug:simple_spread", env_steps=500, overrides=overrides, seed=seed,
                  eval_episodes=2, random_baseline_episodes=1)
        return [float(row["episode_return"]) for row in read_csv(run_dir / "logs" / "executor_0.csv")]

    first, again, other = episode_returns(3, "a"), episode_returns(3, "b"), episode_returns(4, "c")
    assert len(first) == 500 // 25
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_prioritised_replay_learns_and_updates_priorities(tmp_path, monkeypatch):
    """With prioritised replay the trainer writes TD-error priorities back and still learns the game."""
    from mava_plugins.datasets.transition_replay import TransitionReplay

    updates = []
    original = TransitionReplay.update_priorities

    def recording(self, client, keys, priorities):
        updates.append(np.asarray(priorities).copy())
        return original(self, client, keys, priorities)

    monkeypatch.setattr(TransitionReplay, "update_priorities", recording)
    overrides = {**TWO_STEP_OVERRIDES, "dataset.prioritised": True}
    summary, _ = local_run(
        tmp_path, "madqn", "debug:two_step", env_steps=2_000, overrides=overrides, eval_episodes=4,
        random_baseline_episodes=1,
    )
    assert summary["final_mean_return"] >= 7.0 - 1e-3
    assert len(updates) == summary["trainer_steps"]
    assert all(np.all(batch > 0) for batch in updates)  # |TD error| + epsilon
    assert np.ptp(np.concatenate(updates)) > 0  # priorities differ between transitions
