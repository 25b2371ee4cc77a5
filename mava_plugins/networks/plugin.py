"""Network components (Sonnet modules)."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add("network", "mlp", "mava_plugins.networks.mlp:MLPNetwork", description="feedforward MLP (Sonnet)")
