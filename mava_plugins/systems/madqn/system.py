"""MADQN assembled from components: architecture, network, exploration and transition replay.

``network=gru`` (with ``dataset=sequence_replay``) makes the agents recurrent; the
``recurrent_madqn`` system is MADQN with those two defaults and nothing else changed.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

from mava_core.config import Component, component
from mava_core.errors import ConfigError
from mava_core.specs import MultiAgentSpec
from mava_core.system import System
from mava_plugins.components.q_learning import (
    QLearningConfig,
    QNetworks,
    epsilon_greedy_vector_refusal,
    is_recurrent,
    make_epsilon_greedy_policy,
    make_q_networks,
)

__all__ = ["MADQN", "MADQNConfig", "QNetworks", "RecurrentMADQN", "RecurrentMADQNConfig", "recurrent_defaults"]


@dataclasses.dataclass
class MADQNConfig(QLearningConfig):
    """MADQN's settings: exactly the shared Q-learning settings (see ``QLearningConfig``)."""


def recurrent_defaults(config_cls: type) -> type:
    """A config class like ``config_cls`` whose defaults are ``network=gru`` and ``dataset=sequence_replay``.

    The recurrent system variants (``recurrent_madqn``, ``recurrent_vdn``, ``recurrent_qmix``)
    differ from their feedforward systems only by these defaults.
    """
    return dataclasses.make_dataclass(
        f"Recurrent{config_cls.__name__}",
        [
            ("network", Component, component("network", "gru")),
            ("dataset", Component, component("dataset", "sequence_replay")),
        ],
        bases=(config_cls,),
        namespace={
            "__doc__": f"{config_cls.__name__} with a recurrent (GRU) network trained on sequence replay.",
            "__module__": config_cls.__module__,
        },
    )


RecurrentMADQNConfig = recurrent_defaults(MADQNConfig)


def check_discrete_actions(system: str, spec: MultiAgentSpec, environment: str) -> None:
    """Raise ConfigError naming ``system`` and ``environment`` when the actions are not discrete."""
    if not spec.discrete:
        raise ConfigError(
            "system",
            f"{system} needs discrete actions but {environment} has continuous actions; "
            "use the task's discrete-action variant (for MPE tasks: env.continuous_actions=false)",
        )


class MADQN(System):
    """Independent deep Q-learners (shared weights per agent type by default), epsilon-greedy acting."""

    name = "madqn"
    Config = MADQNConfig
    description = "Multi-agent deep Q-networks (independent learners with shared or per-agent weights)"

    @classmethod
    def check_environment(cls, spec: MultiAgentSpec, environment: str) -> None:
        check_discrete_actions(cls.name, spec, environment)

    def make_networks(self) -> QNetworks:
        return make_q_networks(self.spec, self.components.architecture, self.components.network)

    def make_policy(self, networks: QNetworks, evaluation: bool, seed: int):
        return make_epsilon_greedy_policy(networks, self.spec, self.components, self.config, evaluation, seed)

    def policy_variables(self, networks: QNetworks) -> Dict[str, List[Any]]:
        return networks.policy_variables()

    def vector_acting_refusal(self) -> Optional[str]:
        return epsilon_greedy_vector_refusal(self.components, self.config.network.name)

    def make_learner(self, networks: QNetworks, replay_client: Any):
        from mava_plugins.systems.madqn.learner import MADQNLearner

        recurrent = is_recurrent(self.components.network)
        return MADQNLearner(networks, self.config, self.components.dataset, replay_client, recurrent=recurrent)


class RecurrentMADQN(MADQN):
    """MADQN with recurrent (GRU) agents trained on stored sequences (DRQN/R2D2-style)."""

    name = "recurrent_madqn"
    Config = RecurrentMADQNConfig
    description = "MADQN with GRU agents: sequence replay with stored recurrent state and burn-in (network=gru)"
