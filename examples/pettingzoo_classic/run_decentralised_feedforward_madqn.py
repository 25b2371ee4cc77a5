"""MADQN self-play on tic-tac-toe, a turn-based (AEC) PettingZoo classic game, on the local backend.

Each environment step is one move. Both players share one Q-network (agents of one type,
``player_1`` and ``player_2``, share weights); every observation is the board from that
player's side plus an "it is my turn" flag, and only the mover's legal squares are unmasked.
The sequential environment loop passes only the mover's action to the game.

Tic-tac-toe is zero-sum, so the mean return over the two players (the figure printed at the
end) is always 0; the per-player returns and turns are in the logs as ``return_player_1``,
``turns_player_1``, ... (``mean_return_player_1`` in ``logs/evaluator.csv``). Self-play
Q-learning is slow to learn defence: in the greedy evaluation game after this script's
20,000 steps (about two minutes on 2 cores) player_1 still wins in 5 moves (measured here).

    make run EXAMPLE=examples/pettingzoo_classic/run_decentralised_feedforward_madqn.py
    .venv/bin/python examples/pettingzoo_classic/run_decentralised_feedforward_madqn.py --env-steps 5000
    .venv/bin/python examples/pettingzoo_classic/run_decentralised_feedforward_madqn.py run.environment=pettingzoo:connect_four_v3
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="madqn",
    environment="pettingzoo:tictactoe_v3",
    backend="local",
    env_steps=20_000,
    eval_every=5_000,
    eval_episodes=10,
    random_baseline_episodes=100,
)
SYSTEM = {
    "dataset.min_size": 500,
    "dataset.batch_size": 32,
    "exploration.decay_steps": 10_000,
    "target_update_period": 100,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
