"""MAPPO on MPE simple_spread (mpe2 via PettingZoo), distributed with Launchpad.

Three agents must cover three landmarks without colliding. Each agent acts from its own
observation through one shared policy network (a one-hot agent id from the ``agent_id``
wrapper tells them apart); the value function is centralised: each agent's value sees every
agent's observation, its own first (``architecture=centralised``). Launchpad runs a Reverb
queue of fresh sequences, a trainer, two executors, an evaluator and a step counter as
separate processes; the queue makes executors wait when the trainer falls behind.

    .venv/bin/python examples/pettingzoo/run_centralised_feedforward_mappo.py
    .venv/bin/python examples/pettingzoo/run_centralised_feedforward_mappo.py --backend local --env-steps 20000
    .venv/bin/python examples/pettingzoo/run_centralised_feedforward_mappo.py env.continuous_actions=true
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="mappo",
    environment="pettingzoo:simple_spread_v3",
    backend="launchpad",
    executors=2,
    env_steps=200_000,
    eval_every=20_000,
    eval_episodes=20,
    random_baseline_episodes=100,
    env_wrappers=("agent_id",),
)
SYSTEM = {
    "architecture": "centralised",
    "dataset.sequence_length": 25,
    "dataset.batch_size": 16,
    "dataset.max_size": 32,
    "dataset.epochs": 5,
    "dataset.minibatches": 2,
    "policy_learning_rate": 7e-4,
    "value_learning_rate": 7e-4,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
