"""Observation and reward preprocessing wrappers, applied to every environment of a run in order."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "env_wrapper",
        "agent_id",
        "mava_plugins.wrappers.agent_id:AgentIdWrapper",
        description="append a one-hot agent index to each agent's observation",
    )
    registry.add(
        "env_wrapper",
        "previous_action",
        "mava_plugins.wrappers.previous_action:PreviousActionWrapper",
        description="append each agent's previous action (one-hot if discrete) to its observation",
    )
    registry.add(
        "env_wrapper",
        "observation_normalisation",
        "mava_plugins.wrappers.observation_normalisation:ObservationNormalisationWrapper",
        description="standardise observations with running mean/variance per agent type, clipped to +-5",
    )
    registry.add(
        "env_wrapper",
        "reward_normalisation",
        "mava_plugins.wrappers.reward_normalisation:RewardNormalisationWrapper",
        description="divide rewards by a running std of discounted returns (gamma 0.99)",
    )
    registry.add(
        "env_wrapper",
        "death_masking",
        "mava_plugins.wrappers.death_masking:DeathMaskingWrapper",
        description="zero the observations and rewards of agents that terminated before the episode ended",
    )
