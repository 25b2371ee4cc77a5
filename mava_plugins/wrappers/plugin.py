"""Observation preprocessing wrappers, applied to every environment of a run in order."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "env_wrapper",
        "agent_id",
        "mava_plugins.wrappers.agent_id:AgentIdWrapper",
        description="append a one-hot agent index to each agent's observation",
    )
