"""MAPPO on the two-step cooperative matrix game (QMIX paper), on the local backend.

Both agents act from their own observation through a shared policy network; the value
function that trains them sees the game's global state (the ``state_based`` architecture,
MAPPO's default). Evaluation samples from the stochastic policy, so the evaluation return
shows the policy itself moving from random play (about 4.75) to the safe branch (7) or the
optimal one (8). Takes about half a minute on 2 cores:

    .venv/bin/python examples/debugging/run_state_based_feedforward_mappo.py
    .venv/bin/python examples/debugging/run_state_based_feedforward_mappo.py --seed 3 policy_learning_rate=0.001
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="mappo",
    environment="debug:two_step",
    backend="local",
    env_steps=2_000,
    eval_every=500,
    eval_episodes=20,
    random_baseline_episodes=400,
)
SYSTEM = {
    "architecture": "state_based",
    "dataset.sequence_length": 10,
    "dataset.batch_size": 8,
    "dataset.max_size": 16,
    "discount": 1.0,
    "greedy_evaluation": False,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
