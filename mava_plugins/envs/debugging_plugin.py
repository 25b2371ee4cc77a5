"""Plugin registering the ``debug`` environment family (pure numpy, see :mod:`.debugging`)."""
from __future__ import annotations

from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry) -> None:
    registry.add(
        "environment",
        "debug",
        "mava_plugins.envs.debugging:DebugFamily",
        description="Tiny numpy environments for tests: two_step (QMIX matrix game), simple_spread",
    )
