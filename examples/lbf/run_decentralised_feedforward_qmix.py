"""QMIX on Level-Based Foraging (lbforaging), on the local backend.

Two agents on an 8x8 grid must load two food items together (``-coop``: every item needs
both). Actions come with legal-action masks (no walking into walls, food or each other; load
only next to food), which QMIX's greedy and random actions respect. The mixer sees the global
state (all agents' observations) and mixes the per-agent Q-values into a team Q-value; the
evaluator reports ``mean_food_collected`` beside the return. Needs ``pip install 'mava[lbf]'``
(part of ``mava[all]``):

    make run EXAMPLE=examples/lbf/run_decentralised_feedforward_qmix.py
    .venv/bin/python examples/lbf/run_decentralised_feedforward_qmix.py --env-steps 50000 env.max_episode_steps=25
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="qmix",
    environment="lbf:Foraging-8x8-2p-2f-coop-v3",
    backend="local",
    env_steps=200_000,
    eval_every=20_000,
    eval_episodes=20,
    random_baseline_episodes=100,
)
SYSTEM = {
    "dataset.min_size": 1_000,
    "dataset.batch_size": 32,
    "exploration.decay_steps": 50_000,
    "target_update_period": 200,
    "learning_rate": 0.0005,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
