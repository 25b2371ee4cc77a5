"""Network components (Sonnet modules)."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add("network", "mlp", "mava_plugins.networks.mlp:MLPNetwork", description="feedforward MLP (Sonnet)")
    registry.add(
        "network",
        "gru",
        "mava_plugins.networks.recurrent:GRUNetwork",
        description="recurrent: MLP torso -> GRU -> linear head; for recurrent_madqn/vdn/qmix with sequence_replay",
    )
    for package in ("sonnet", "tree", "tensorflow_probability"):
        registry.add_extra(package, "tf")
