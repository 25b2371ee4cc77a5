"""MADQN learns: seeded local-backend runs must beat a random policy by a clear margin."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    ParameterTrace,
    assert_training_changed_the_outcome,
    local_run,
    parameter_changes,
    read_csv,
    two_step_run,
)

from mava_core.errors import ConfigError
from mava_core.trainer import optimiser_step_disabled

TWO_STEP_OVERRIDES = {
    "dataset.min_size": 100,
    "dataset.batch_size": 32,
    "dataset.samples_per_insert": 32.0,
    "exploration.decay_steps": 1_000,
    "target_update_period": 50,
    "discount": 1.0,
    "learning_rate": 0.005,
}


#: seeds whose untrained greedy policy does not already score 8 (checked in each test). With
#: agent ids, seeds 0-11 score 7, 8, 7, 8, 8, 7, 7, 0, 1, 8, 0, 7 before training: the initial
#: weights alone often reach 7 or 8, which is why the untrained policy is measured every time
TWO_STEP_SEEDS = (0, 7)


@pytest.mark.parametrize("seed", TWO_STEP_SEEDS)
def test_madqn_learns_the_two_step_game(tmp_path, seed):
    """With agent ids, independent learners with decaying exploration find the optimal joint return 8.

    A random policy averages 4.75; the untrained greedy policy of each seed here scores less
    than 8 (0 or 7), and the trained one must settle on 8.
    """
    summary = two_step_run(tmp_path, "madqn", TWO_STEP_OVERRIDES, seed, random_baseline_episodes=400)
    assert summary["random_return"] == pytest.approx(4.75, abs=0.6)
    assert_training_changed_the_outcome(summary, 8.0, seed)
    assert summary["trainer_steps"] > 500


def test_disabled_optimiser_step_leaves_every_parameter_unchanged(tmp_path, monkeypatch):
    """``MAVA_DISABLE_OPTIMISER_STEP=1``: the trainer steps, but the executor never pulls a changed value."""
    monkeypatch.setenv("MAVA_DISABLE_OPTIMISER_STEP", "yes")
    with pytest.raises(ConfigError, match="MAVA_DISABLE_OPTIMISER_STEP.*must be 0 or 1"):
        optimiser_step_disabled()
    monkeypatch.setenv("MAVA_DISABLE_OPTIMISER_STEP", "1")
    summary = two_step_run(tmp_path, "madqn", TWO_STEP_OVERRIDES, seed=0, env_steps=600, plugins=[ParameterTrace(tmp_path / "trace")])
    assert summary["trainer_steps"] > 100
    records = parameter_changes(tmp_path / "trace")
    assert records and all(r["pulls"] >= 2 and r["max_change"] == 0.0 for r in records.values()), records


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
    summary = two_step_run(tmp_path, "madqn", overrides, seed=TWO_STEP_SEEDS[0])
    assert_training_changed_the_outcome(summary, 8.0, TWO_STEP_SEEDS[0])
    assert len(updates) == summary["trainer_steps"]
    assert all(np.all(batch > 0) for batch in updates)  # |TD error| + epsilon
    assert np.ptp(np.concatenate(updates)) > 0  # priorities differ between transitions
