"""MADQN assembled from components: architecture, network, exploration and transition replay."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List

from mava_core.errors import ConfigError
from mava_core.specs import MultiAgentSpec
from mava_core.system import System
from mava_plugins.components.q_learning import QLearningConfig, QNetworks, make_q_networks

__all__ = ["MADQN", "MADQNConfig", "QNetworks"]


@dataclasses.dataclass
class MADQNConfig(QLearningConfig):
    """MADQN's settings: exactly the shared Q-learning settings (see ``QLearningConfig``)."""


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
        from mava_plugins.components.value_policy import EpsilonGreedyPolicy

        return EpsilonGreedyPolicy(
            networks.online,
            networks.groups,
            self.spec,
            self.components.exploration,
            evaluation=evaluation,
            seed=seed,
            evaluation_epsilon=self.config.evaluation_epsilon,
        )

    def policy_variables(self, networks: QNetworks) -> Dict[str, List[Any]]:
        return networks.policy_variables()

    def make_learner(self, networks: QNetworks, replay_client: Any):
        from mava_plugins.systems.madqn.learner import MADQNLearner

        return MADQNLearner(networks, self.config, self.components.dataset, replay_client)
