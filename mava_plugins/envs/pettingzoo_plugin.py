"""Plugin registering the ``pettingzoo`` environment family (MPE, butterfly and classic tasks).

The family is registered lazily (``"module:attr"``), so loading this plugin imports
neither PettingZoo nor mpe2.
"""
from __future__ import annotations

from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry) -> None:
    registry.add(
        "environment",
        "pettingzoo",
        "mava_plugins.envs.pettingzoo_family:PettingZooFamily",
        description="PettingZoo: MPE (mpe2) and knights-archers-zombies in parallel, classic board games turn by turn (default simple_spread_v3)",
    )
    for package in ("pettingzoo", "mpe2", "gymnasium"):
        registry.add_extra(package, "envs")
