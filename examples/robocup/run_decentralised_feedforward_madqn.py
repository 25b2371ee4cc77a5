"""MADQN on RoboCup 2D soccer, one player per team (``robocup:1v1``), on the local backend.

Mava controls both players, one shared network per team; a goal pays the scorer's team +1
and the other -1. Each environment needs its own rcssserver (a server hosts one game): the
executor's plays on port 6000, the evaluator's on port 6010 (``run.eval_env_options.port``;
6001 and 6002 are the first server's coach ports). Start both first, as
docs/environments/robocup.md describes (without a server the script stops with one line
saying so):

    rcssserver server::auto_mode=true server::synch_mode=true server::port=6000 server::coach_port=6001 server::olcoach_port=6002 &
    rcssserver server::auto_mode=true server::synch_mode=true server::port=6010 server::coach_port=6011 server::olcoach_port=6012 &
    make run EXAMPLE=examples/robocup/run_decentralised_feedforward_madqn.py

The random-policy baseline plays on the executor's server once training is done.
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="madqn",
    environment="robocup:1v1",
    backend="local",
    env_steps=200_000,
    eval_every=20_000,
    eval_episodes=5,
    random_baseline_episodes=5,
    env_options={"synch_mode": True, "port": 6000, "cycle_limit": 300},
    eval_env_options={"port": 6010},
)
SYSTEM = {
    "dataset.min_size": 1_000,
    "dataset.batch_size": 32,
    "exploration.decay_steps": 50_000,
    "learning_rate": 0.0005,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
