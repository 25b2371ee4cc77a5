"""A third-party Mava plugin used by the tests: the ``example`` environment family.

It is discovered like any installed plugin, through the ``mava`` entry-point group, and
needs no change to Mava's core. The family is registered lazily (``"module:attr"``) so
loading the plugin imports nothing beyond this module.
"""
from mava_core.hookspecs import hookimpl

__version__ = "0.3.1"


@hookimpl
def mava_register(registry):
    registry.add(
        "environment",
        "example",
        "mava_example_plugin.coin_game:ExampleFamily",
        description="third-party example family: coin_game (2 agents collect coins on a grid)",
    )
