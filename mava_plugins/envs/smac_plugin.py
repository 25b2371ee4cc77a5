"""Plugin registering the ``smac`` environment family (StarCraft Multi-Agent Challenge).

The family is registered lazily (``"module:attr"``): loading this plugin imports neither
SMAC nor StarCraft II's client libraries.
"""
from __future__ import annotations

from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry) -> None:
    registry.add(
        "environment",
        "smac",
        "mava_plugins.envs.smac:SMACFamily",
        description="StarCraft Multi-Agent Challenge maps (smac:3m, smac:2s3z, ...); needs SMAC and StarCraft II",
    )
