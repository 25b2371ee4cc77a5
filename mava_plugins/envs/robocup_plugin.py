"""Plugin registering the ``robocup`` environment family (RoboCup 2D players on an rcssserver).

The family is registered lazily (``"module:attr"``); nothing connects to a server until an
environment is reset.
"""
from __future__ import annotations

from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry) -> None:
    registry.add(
        "environment",
        "robocup",
        "mava_plugins.envs.robocup:RoboCupFamily",
        description="RoboCup 2D soccer players over UDP to an rcssserver (robocup:1v1, 2v2, 3v3)",
    )
