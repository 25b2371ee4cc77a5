"""QMIX on the two-step cooperative matrix game (Rashid et al. 2018), on the local backend.

Agents explore uniformly (epsilon 1, as in the paper) and learn off-policy; QMIX's
state-conditioned monotonic mixer represents the 2B payoff well enough that the greedy
policy takes the risky branch and the final evaluation reaches the optimal joint return 8
(VDN settles on 7, see run_decentralised_feedforward_vdn.py). Takes about half a minute on 2 cores:

    make run EXAMPLE=examples/debugging/run_decentralised_feedforward_qmix.py
    .venv/bin/python examples/debugging/run_decentralised_feedforward_qmix.py --seed 2 mixer.embed_size=16
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="qmix",
    environment="debug:two_step",
    backend="local",
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
