"""MADDPG on the continuous-action numpy spread task, on the local backend.

Two agents must cover two landmarks with 2-D velocity actions in [-1, 1]
(``debug:simple_spread`` with ``env.continuous=true``). Each agent's deterministic actor sees
its own observation; its centralised critic sees every agent's observation and action. The
run takes about half a minute on 2 cores and ends well above the random-policy return that
the summary prints next to it (an optimal policy scores about -6, random play about -37):

    make run EXAMPLE=examples/debugging/run_centralised_feedforward_maddpg.py
    .venv/bin/python examples/debugging/run_centralised_feedforward_maddpg.py --env-steps 6000 exploration=ornstein_uhlenbeck
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="maddpg",
    environment="debug:simple_spread",
    backend="local",
    env_steps=3_000,
    eval_every=1_000,
    eval_episodes=10,
    random_baseline_episodes=50,
    env_options={"continuous": True, "num_agents": 2},
)
SYSTEM = {
    "architecture": "centralised",
    "dataset.min_size": 100,
    "dataset.batch_size": 32,
    "dataset.samples_per_insert": 32.0,
    "discount": 0.95,
    "policy_learning_rate": 0.003,
    "critic_learning_rate": 0.003,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
