"""MAPPO: multi-agent PPO with a centralised value function, as a plugin.

Besides registering the system, the plugin feeds the environment's global state to MAPPO
policies before they act (through the executor's observe hooks), so that a state-based value
function can report the behaviour value of each step in the policy's ``extras()``.
"""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "system",
        "mappo",
        "mava_plugins.systems.mappo.system:MAPPO",
        description="multi-agent PPO: stochastic policies, centralised (state-based) value function, GAE, clipped objectives",
    )


def _give_state(executor, extras) -> None:
    observe = getattr(executor.policy, "observe_global_state", None)
    if observe is not None:
        observe(extras.get("state"))


@hookimpl
def mava_executor_observe_first(executor, timestep, extras):
    _give_state(executor, extras)


@hookimpl
def mava_executor_observe(executor, actions, next_timestep, extras):
    _give_state(executor, extras)
