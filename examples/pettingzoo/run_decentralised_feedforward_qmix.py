"""QMIX on MPE simple_spread (mpe2 via PettingZoo), distributed with Launchpad.

Three agents must cover three landmarks without colliding. Each agent's Q-network sees only
its own observation (one network shared by the three); QMIX's monotonic mixer combines
their chosen Q-values into the team's, conditioned on the global state (every agent's
observation). QMIX's own defaults apply: a mixer that starts with small weights
(``mixer.init_scale=0.1``) and ``learning_rate=1e-4``, which keep ``Q_tot`` from diverging
on this task (docs/systems/qmix.md). This is the configuration of the learning-quality
benchmark: over 200,000 steps its best evaluation was -14.82 (mean per-agent return; the
random policy's is about -22.5); that run took 21 minutes on 2 cores shared with another job.

    .venv/bin/python examples/pettingzoo/run_decentralised_feedforward_qmix.py
    .venv/bin/python examples/pettingzoo/run_decentralised_feedforward_qmix.py --backend local --env-steps 50000
"""
import sys

from mava_core.cli import run_script
from mava_core.config import RunConfig

RUN = RunConfig(
    system="qmix",
    environment="pettingzoo:simple_spread_v3",
    backend="launchpad",
    executors=2,
    env_steps=200_000,
    eval_every=20_000,
    eval_episodes=20,
    random_baseline_episodes=20,
)
SYSTEM = {}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, description=__doc__))
