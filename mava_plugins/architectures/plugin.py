"""Architecture components: how agents' networks are shared and what each agent's critic sees."""
from mava_core.hookspecs import hookimpl

_MODULE = "mava_plugins.architectures.views"


@hookimpl
def mava_register(registry):
    registry.add(
        "architecture",
        "decentralised",
        f"{_MODULE}:Decentralised",
        description="each agent's networks see only its own observation (and action)",
    )
    registry.add(
        "architecture",
        "centralised",
        f"{_MODULE}:Centralised",
        description="critics see every agent's observation and action",
    )
    registry.add(
        "architecture",
        "state_based",
        f"{_MODULE}:StateBased",
        description="critics see the environment's global state and every agent's action",
    )
    registry.add(
        "architecture",
        "networked",
        f"{_MODULE}:Networked",
        description="critics see their neighbours in a connection graph (architecture.graph)",
    )
