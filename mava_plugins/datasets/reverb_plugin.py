"""Reverb datasets: replay tables, adders and the trainer's iterator."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "dataset",
        "transition_replay",
        "mava_plugins.datasets.transition_replay:TransitionReplay",
        description="Reverb replay of n-step transitions; uniform or prioritised; samples-per-insert limiter",
    )
