"""MAPPO on the Multi-Robot Warehouse (rware), on the local backend.

Two robots in the tiny warehouse fetch requested shelves, carry them to the goal and bring
them back. The reward is sparse (1 for each delivery), so the evaluator's
``mean_deliveries`` is the number to watch. Both robots act through one shared policy; the
value function sees the global state (both robots' observations: ``architecture=state_based``).
Evaluation samples from the stochastic policy. Needs ``pip install 'mava[rware]'`` (part of
``mava[all]``):

    make run EXAMPLE=examples/rware/run_state_based_feedforward_mappo.py
    .venv/bin/python examples/rware/run_state_based_feedforward_mappo.py --env-steps 100000 env.max_steps=200
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="mappo",
    environment="rware:rware-tiny-2ag-v2",
    backend="local",
    env_steps=500_000,
    eval_every=50_000,
    eval_episodes=5,
    random_baseline_episodes=20,
)
SYSTEM = {
    "architecture": "state_based",
    "dataset.sequence_length": 50,
    "dataset.batch_size": 16,
    "dataset.max_size": 32,
    "dataset.epochs": 5,
    "dataset.minibatches": 2,
    "greedy_evaluation": False,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
