"""MADQN assembled from components: architecture, network, exploration and transition replay.

The system is :class:`~mava_plugins.components.q_system.QLearningSystem` with a name: its
update is :class:`~mava_plugins.components.q_learner.QLearner`, top to bottom in one file.
``network=gru`` (with ``dataset=sequence_replay``) makes the agents recurrent; the
``recurrent_madqn`` system is MADQN with those two defaults and nothing else changed.
"""
from __future__ import annotations

import dataclasses

from mava_plugins.components.q_learning import QLearningConfig, QNetworks
from mava_plugins.components.q_system import QLearningSystem, check_discrete_actions, recurrent_defaults

__all__ = [
    "MADQN",
    "MADQNConfig",
    "QNetworks",
    "RecurrentMADQN",
    "RecurrentMADQNConfig",
    "check_discrete_actions",
    "recurrent_defaults",
]


@dataclasses.dataclass
class MADQNConfig(QLearningConfig):
    """MADQN's settings: exactly the shared Q-learning settings (see ``QLearningConfig``)."""


RecurrentMADQNConfig = recurrent_defaults(MADQNConfig)


class MADQN(QLearningSystem):
    """Independent deep Q-learners (shared weights per agent type by default), epsilon-greedy acting."""

    name = "madqn"
    Config = MADQNConfig
    description = "Multi-agent deep Q-networks (independent learners with shared or per-agent weights)"


class RecurrentMADQN(MADQN):
    """MADQN with recurrent (GRU) agents trained on stored sequences (DRQN/R2D2-style)."""

    name = "recurrent_madqn"
    Config = RecurrentMADQNConfig
    description = "MADQN with GRU agents: sequence replay with stored recurrent state and burn-in (network=gru)"
