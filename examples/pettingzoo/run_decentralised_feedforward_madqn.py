"""MADQN on MPE simple_spread (mpe2 via PettingZoo), distributed with Launchpad: the main job.

Three agents must cover three landmarks without colliding. Each agent has its own
observation and shares one Q-network with the others; a one-hot agent id (the ``agent_id``
environment wrapper) lets the shared network tell them apart. Launchpad runs a Reverb replay
server, a trainer, two executors, an evaluator and a step counter as separate processes; the
run stops by itself when the step budget is spent (about six minutes on 2 cores), then prints
the mean evaluation return next to that of a random policy on the same task.

    make run                       # this script
    .venv/bin/python examples/pettingzoo/run_decentralised_feedforward_madqn.py --env-steps 20000
    .venv/bin/python examples/pettingzoo/run_decentralised_feedforward_madqn.py --backend local learning_rate=0.001
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="madqn",
    environment="pettingzoo:simple_spread_v3",
    backend="launchpad",
    executors=2,
    env_steps=120_000,
    eval_every=12_000,
    eval_episodes=20,
    random_baseline_episodes=100,
    env_wrappers=("agent_id",),
)
SYSTEM = {
    "exploration.decay_steps": 30_000,
    "dataset.min_size": 2_000,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
