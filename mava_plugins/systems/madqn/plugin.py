"""MADQN: independent deep Q-learning for every agent, as a plugin."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "system",
        "madqn",
        "mava_plugins.systems.madqn.system:MADQN",
        description="multi-agent DQN: per-agent Q-networks, epsilon-greedy, target network, double-Q, n-step",
    )
    registry.add(
        "system",
        "recurrent_madqn",
        "mava_plugins.systems.madqn.system:RecurrentMADQN",
        description="madqn with GRU agents (network=gru, dataset=sequence_replay): stored state, burn-in",
    )
