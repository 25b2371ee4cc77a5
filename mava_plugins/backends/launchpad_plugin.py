"""The Launchpad backend: one process per node on this machine."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "backend",
        "launchpad",
        "mava_plugins.backends.launchpad_backend:LaunchpadBackend",
        description="Launchpad local multi-processing: replay, counter, trainer, N executors, evaluator",
    )
    registry.add_extra("launchpad", "launchpad")
