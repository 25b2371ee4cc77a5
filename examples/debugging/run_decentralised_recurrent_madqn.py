"""Recurrent MADQN (GRU agents) on the two-step cooperative matrix game, on the local backend.

``recurrent_madqn`` is MADQN with ``network=gru`` and ``dataset=sequence_replay``: executors
carry each agent's GRU state through the episode, replay stores overlapping sequences with
the state at their start, and the learner burns in the first ``dataset.burn_in`` steps before
training on the rest. Like feedforward MADQN, independent learners settle on the safe branch
(joint return 7). Takes about half a minute on 2 cores:

    make run EXAMPLE=examples/debugging/run_decentralised_recurrent_madqn.py
    .venv/bin/python examples/debugging/run_decentralised_recurrent_madqn.py --seed 3 network.core_size=32
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="recurrent_madqn",
    environment="debug:two_step",
    backend="local",
    env_steps=2_000,
    eval_every=500,
    eval_episodes=4,
    random_baseline_episodes=400,
)
SYSTEM = {
    "dataset.sequence_length": 4,
    "dataset.burn_in": 1,
    "dataset.period": 2,
    "dataset.min_size": 50,
    "dataset.batch_size": 32,
    "dataset.samples_per_insert": 16.0,
    "network.core_size": 32,
    "exploration.decay_steps": 1_000,
    "target_update_period": 50,
    "discount": 1.0,
    "learning_rate": 0.005,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
