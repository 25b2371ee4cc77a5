"""MADDPG and MAD4PG: deterministic policy gradients for multi-agent teams, as a plugin."""
from mava_core.hookspecs import hookimpl

_MODULE = "mava_plugins.systems.maddpg.system"


@hookimpl
def mava_register(registry):
    registry.add(
        "system",
        "maddpg",
        f"{_MODULE}:MADDPG",
        description="multi-agent DDPG: deterministic actors (Gumbel-softmax for discrete actions), centralised critics",
    )
    registry.add(
        "system",
        "mad4pg",
        f"{_MODULE}:MAD4PG",
        description="multi-agent D4PG: MADDPG with categorical distributional critics and n-step returns",
    )
