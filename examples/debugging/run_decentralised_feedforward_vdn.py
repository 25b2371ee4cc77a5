"""VDN on the two-step cooperative matrix game (Rashid et al. 2018), on the local backend.

Agents explore uniformly (epsilon 1, as in the paper) and learn off-policy. Under uniform
data VDN's additive decomposition values the 2B branch at 6.5 (the least-squares fit of a
sum Q_1 + Q_2 to its payoff matrix [[0, 1], [1, 8]] gives 6.5 for the joint action (1, 1)),
so the greedy policy settles on the safe branch and the final evaluation returns 7, the
paper's result (QMIX reaches 8, see run_decentralised_feedforward_qmix.py).
Takes about half a minute on 2 cores:

    make run EXAMPLE=examples/debugging/run_decentralised_feedforward_vdn.py
    .venv/bin/python examples/debugging/run_decentralised_feedforward_vdn.py --seed 2 learning_rate=0.0005
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="vdn",
    environment="debug:two_step",
    backend="local",
    seed=1,
    env_steps=2_000,
    eval_every=500,
    eval_episodes=2,
    random_baseline_episodes=400,
)
SYSTEM = {
    "dataset.min_size": 100,
    # batches of 128 at learning rate 0.001: with 32 at 0.002 VDN's greedy choice between the
    # branches (7 against its fit's 6.5 plus noise) still flipped late in training in some runs
    "dataset.batch_size": 128,
    "dataset.samples_per_insert": 128.0,
    "exploration": "constant_epsilon",
    "exploration.value": 1.0,
    "target_update_period": 50,
    "discount": 1.0,
    "learning_rate": 0.001,
    "huber_delta": 0.0,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
