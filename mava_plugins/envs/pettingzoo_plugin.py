"""Plugin registering the ``pettingzoo`` environment family (MPE tasks from mpe2).

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
        description="PettingZoo parallel environments: MPE tasks from mpe2 (default simple_spread_v3)",
    )
