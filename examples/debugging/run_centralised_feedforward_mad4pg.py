"""MAD4PG on the continuous-action numpy spread task, on the local backend.

The same task and centralised critics as ``run_centralised_feedforward_maddpg.py``, with
MAD4PG's categorical critics: 51 atoms in [v_min, v_max] = [-60, 0] (what discounted returns
of this task span at discount 0.95) and 3-step returns. About half a minute on 2 cores; the
summary prints the final evaluation return next to that of a random policy (about -37):

    make run EXAMPLE=examples/debugging/run_centralised_feedforward_mad4pg.py
    .venv/bin/python examples/debugging/run_centralised_feedforward_mad4pg.py dataset.n_step=5 num_atoms=101
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="mad4pg",
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
    "dataset.n_step": 3,
    "discount": 0.95,
    "v_min": -60.0,
    "v_max": 0.0,
    "policy_learning_rate": 0.003,
    "critic_learning_rate": 0.003,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
