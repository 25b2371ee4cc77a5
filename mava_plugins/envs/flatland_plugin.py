"""Registers the ``flatland`` environment family (flatland-rl, see :mod:`.flatland`); Flatland loads on first use."""
from __future__ import annotations

from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry) -> None:
    registry.add(
        "environment",
        "flatland",
        "mava_plugins.envs.flatland:FlatlandFamily",
        description="Flatland trains on small generated rail networks: tree observations, move masks; metric: done_rate",
    )
    registry.add_extra("flatland", "flatland")
