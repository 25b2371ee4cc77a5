"""Build a custom system from components: MADQN with an exploration schedule defined here.

The schedule below is an ordinary component: a class with a ``Config`` dataclass and a
``value(env_steps)`` method, registered by a plugin object under the name ``cosine_epsilon``.
Choosing it is one override (``exploration=cosine_epsilon``); its options are set like any
other (``exploration.period=2000``). Neither core nor plugin code is edited. The plugin
travels with the run, so it also works with one process per node:

    .venv/bin/python examples/custom/run_custom_exploration_madqn.py
    .venv/bin/python examples/custom/run_custom_exploration_madqn.py --backend launchpad --executors 2
    .venv/bin/python examples/custom/run_custom_exploration_madqn.py exploration.period=5000 network.hidden_sizes=32,32
"""
import dataclasses
import math
import sys

from mava_core import hookimpl
from mava_core.cli import run_script
from mava_core.config import RunConfig, bounded


class CosineEpsilon:
    """Epsilon that oscillates between ``high`` and ``low`` with a period in env steps, then settles at ``low``."""

    @dataclasses.dataclass
    class Config:
        high: float = bounded(1.0, minimum=0.0, maximum=1.0)
        low: float = bounded(0.05, minimum=0.0, maximum=1.0)
        period: int = bounded(4_000, minimum=1, help="environment steps of one cycle")
        cycles: int = bounded(2, minimum=1, help="cycles before epsilon stays at low")

    def __init__(self, config: "CosineEpsilon.Config"):
        self.config = config

    def value(self, step: int) -> float:
        c = self.config
        if step >= c.period * c.cycles:
            return c.low
        phase = (step % c.period) / c.period
        return c.low + 0.5 * (c.high - c.low) * (1.0 + math.cos(math.pi * phase))


class CosineEpsilonPlugin:
    """A plugin object: registers the component above under a name configs can use."""

    name = "cosine_epsilon_example"

    @staticmethod
    @hookimpl
    def mava_register(registry):
        registry.add("exploration", "cosine_epsilon", CosineEpsilon, description="cosine-cycled epsilon (example)")


RUN = RunConfig(
    system="madqn",
    environment="debug:simple_spread",
    backend="local",
    env_steps=20_000,
    eval_every=5_000,
    eval_episodes=10,
)
SYSTEM = {
    "exploration": "cosine_epsilon",
    "exploration.period": 4_000,
    "network.hidden_sizes": (64, 64),
    "dataset.min_size": 500,
}

if __name__ == "__main__":
    sys.exit(run_script(RUN, SYSTEM, plugins=[CosineEpsilonPlugin()], description=__doc__))
