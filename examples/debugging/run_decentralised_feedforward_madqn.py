"""MADQN on the two-step cooperative matrix game (QMIX paper), on the local backend.

Independent learners settle on the safe branch (joint return 7) rather than the optimal 8,
which is what value decomposition (QMIX) is for. Takes about half a minute on 2 cores:

    make run EXAMPLE=examples/debugging/run_decentralised_feedforward_madqn.py
    .venv/bin/python examples/debugging/run_decentralised_feedforward_madqn.py --seed 3 learning_rate=0.01
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="madqn",
    environment="debug:two_step",
    backend="local",
    env_steps=2_000,
    eval_every=500,
    eval_episodes=4,
    random_baseline_episodes=400,
)
SYSTEM = {
    "dataset.min_size": 100,
    "dataset.batch_size": 32,
    "dataset.samples_per_insert": 32.0,
    "exploration.decay_steps": 1_000,
    "target_update_period": 50,
    "discount": 1.0,
    "learning_rate": 0.005,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
