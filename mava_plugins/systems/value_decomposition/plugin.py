"""Registers the value_decomposition system(s) (work in progress: registers nothing yet)."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    pass
