"""Architecture components: how agents' networks are shared and what they see."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "architecture",
        "decentralised",
        "mava_plugins.architectures.decentralised:Decentralised",
        description="each agent acts on its own observation; weights shared per agent type or per agent",
    )
