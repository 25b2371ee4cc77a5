"""MADQN on RoboCup 2D soccer, one player per team (``robocup:1v1``), on the local backend.

Mava controls both players, one shared network per team; a goal pays the scorer's team +1
and the other -1, and the shaped ``ball_distance_reward`` pays each team 0.1 per metre its
player closes on the ball, so there is something to learn long before the first goal.

Each environment starts its own rcssserver (``env.server=auto``: a server hosts one game, and
the executor, the evaluator and the random baseline each play their own) from the build of
``make robocup-server`` (or ``rcssserver`` on PATH, or ``$RCSSSERVER``); see
docs/environments/robocup.md. Without a server binary the script stops with one line saying
how to build it:

    make robocup-server
    make run EXAMPLE=examples/robocup/run_decentralised_feedforward_madqn.py

To play servers you started yourself instead, pass ``env.server=external env.port=6000
run.eval_env_options.port=6010``.

The random-policy baseline plays once training is done.
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
    env_options={"server": "auto", "synch_mode": True, "cycle_limit": 300, "ball_distance_reward": 0.1},
)
SYSTEM = {
    "dataset.min_size": 1_000,
    "dataset.batch_size": 32,
    "exploration.decay_steps": 50_000,
    "learning_rate": 0.0005,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
