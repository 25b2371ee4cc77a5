"""MADQN on MPE simple_spread (mpe2 via PettingZoo), distributed with Launchpad: the main job.

Three agents must cover three landmarks without colliding. Each agent has its own
observation and shares one Q-network with the others; a one-hot agent id (the ``agent_id``
environment wrapper) lets the shared network tell them apart. Launchpad runs a trainer, two
executors, an evaluator and a step counter as separate processes, with the Reverb replay
server inside the trainer's process (``run.backend_options.replay_in_trainer``: one process and
one TensorFlow start-up fewer than a replay process of its own); the run stops by itself when
the step budget is spent (4 to 5 minutes on 2 cores), then prints the mean evaluation return
next to that of a random policy on the same task.

Each executor steps 8 copies of the task together (one policy call for all of them) and
writes their transitions to replay in blocks of 8; the trainer learns from batches of 256 at
the default 16 sampled transitions per inserted one, copying its target network every 50
updates (every 12,800 sampled transitions, as 200 updates of 64 would). Over three seeds this
finished in 47% of the wall time of one copy per executor with batches of 64 (the systems'
defaults), with final returns the same within their noise (docs/benchmarks.md). To train
with the defaults instead: ``run.envs_per_executor=1 dataset.batch_size=64 target_update_period=200``.

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
    envs_per_executor=8,
    env_steps=120_000,
    eval_every=12_000,
    eval_episodes=20,
    random_baseline_episodes=100,
    env_wrappers=("agent_id",),
    backend_options={"replay_in_trainer": True},  # Launchpad's; --backend local or ray drops it
)
SYSTEM = {
    "exploration.decay_steps": 30_000,
    "dataset.min_size": 2_000,
    "dataset.batch_size": 256,
    "target_update_period": 50,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
