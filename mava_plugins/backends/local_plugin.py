"""The local backend: the whole program interleaved in one process (debugging and tests)."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "backend",
        "local",
        "mava_plugins.backends.local:LocalBackend",
        description="one process; executors, trainer and evaluator interleaved step by step; seeded",
    )
