"""Registers the ``matching`` environment family with Mava.

The target is a lazy "module:attribute" string, so loading this plugin (which happens on
every ``mava`` command) imports nothing but this file.
"""
from mava_core import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "environment",
        "matching",
        "mava_matching.env:MatchingFamily",
        description="agents score when they all pick the same symbol (tasks: pairs, trio)",
    )
