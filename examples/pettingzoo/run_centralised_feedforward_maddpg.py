"""MADDPG on MPE simple_spread with continuous actions (mpe2 via PettingZoo), on Launchpad.

Three agents must cover three landmarks without colliding; each action is a vector of five
forces in [0, 1] (``env.continuous_actions=true``). Each agent's deterministic actor sees its
own observation plus a one-hot agent id (the ``agent_id`` wrapper; the actor is shared), and
its centralised critic sees every agent's observation and action, as in Lowe et al. (2017).
Launchpad runs the replay server, trainer, two executors, evaluator and counter as separate
processes; the run stops by itself when the budget is spent and prints the mean evaluation
return next to that of a random policy on the same task.

    .venv/bin/python examples/pettingzoo/run_centralised_feedforward_maddpg.py
    .venv/bin/python examples/pettingzoo/run_centralised_feedforward_maddpg.py --env-steps 200000 exploration=ornstein_uhlenbeck
    .venv/bin/python examples/pettingzoo/run_centralised_feedforward_maddpg.py --backend local --env-steps 20000
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="maddpg",
    environment="pettingzoo:simple_spread_v3",
    backend="launchpad",
    executors=2,
    env_steps=100_000,
    eval_every=10_000,
    eval_episodes=20,
    random_baseline_episodes=100,
    env_wrappers=("agent_id",),
    env_options={"continuous_actions": True},
)
SYSTEM = {
    "architecture": "centralised",
    "dataset.min_size": 2_000,
    "dataset.batch_size": 64,
    "discount": 0.95,
    "exploration.decay_steps": 50_000,
    "policy_learning_rate": 0.001,
    "critic_learning_rate": 0.001,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
