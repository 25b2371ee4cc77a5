"""Recurrent QMIX (GRU agents) on the SMAC map 3m, on the local backend.

Three marines fight three; each agent's GRU carries what it saw earlier in the episode,
the monotonic mixer sees SMAC's global state, and masks keep every action legal. The
evaluator's ``mean_battle_won`` is the win rate SMAC results report. Needs SMAC and
StarCraft II, installed as docs/environments/smac.md describes (without them the script
stops with one line saying what to install):

    make run EXAMPLE=examples/smac/run_decentralised_recurrent_qmix.py
    .venv/bin/python examples/smac/run_decentralised_recurrent_qmix.py --env-steps 2000000 env.difficulty=7
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="recurrent_qmix",
    environment="smac:3m",
    backend="local",
    env_steps=1_000_000,
    eval_every=20_000,
    eval_episodes=32,
    random_baseline_episodes=32,
)
SYSTEM = {
    "dataset.sequence_length": 20,
    "dataset.burn_in": 4,
    "dataset.period": 10,
    "dataset.min_size": 100,
    "dataset.batch_size": 32,
    "exploration.decay_steps": 50_000,
    "learning_rate": 0.0005,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
