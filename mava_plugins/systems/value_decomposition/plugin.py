"""Value decomposition as a plugin: the ``vdn`` and ``qmix`` systems and their ``mixer`` components."""
from mava_core.hookspecs import hookimpl

SYSTEMS = "mava_plugins.systems.value_decomposition.system"
MIXERS = "mava_plugins.systems.value_decomposition.mixers"


@hookimpl
def mava_register(registry):
    registry.add_kind("mixer", "value-decomposition mixers: per-agent Q-values (and state) -> joint Q-value")
    registry.add(
        "system",
        "vdn",
        f"{SYSTEMS}:VDN",
        description="value-decomposition networks: agents' Q-values summed into the team Q-value (mixer=additive)",
    )
    registry.add(
        "system",
        "qmix",
        f"{SYSTEMS}:QMIX",
        description="QMIX: agents' Q-values mixed monotonically by state-conditioned hypernetworks (mixer=monotonic)",
    )
    registry.add(
        "system",
        "recurrent_vdn",
        f"{SYSTEMS}:RecurrentVDN",
        description="vdn with GRU agents (network=gru, dataset=sequence_replay): stored state, burn-in",
    )
    registry.add(
        "system",
        "recurrent_qmix",
        f"{SYSTEMS}:RecurrentQMIX",
        description="qmix with GRU agents (network=gru, dataset=sequence_replay): mixes every step with its state",
    )
    registry.add("mixer", "additive", f"{MIXERS}:AdditiveMixer", description="VDN: sum of the agents' chosen Q-values")
    registry.add(
        "mixer",
        "monotonic",
        f"{MIXERS}:MonotonicMixer",
        description="QMIX: non-negative state-conditioned mixing weights (hypernetworks), ELU hidden layer",
    )
