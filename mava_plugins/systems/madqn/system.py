"""MADQN assembled from components: architecture, network, exploration and transition replay."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

from mava_core.config import Component, bounded, component
from mava_core.errors import ConfigError
from mava_core.specs import MultiAgentSpec
from mava_core.system import System


@dataclasses.dataclass
class MADQNConfig:
    architecture: Component = component("architecture", "decentralised")
    network: Component = component("network", "mlp")
    exploration: Component = component("exploration", "linear_epsilon")
    dataset: Component = component("dataset", "transition_replay")
    learning_rate: float = bounded(5e-4, minimum=0.0)
    discount: float = bounded(0.99, minimum=0.0, maximum=1.0)
    target_update_period: int = bounded(200, minimum=0, help="trainer steps between hard target copies (0: use target_tau)")
    target_tau: float = bounded(0.0, minimum=0.0, maximum=1.0, help="Polyak rate when target_update_period is 0")
    double_q: bool = True
    huber_delta: float = bounded(1.0, minimum=0.0, help="0: squared loss")
    max_gradient_norm: Optional[float] = bounded(10.0, minimum=0.0)
    variable_update_period: int = bounded(100, minimum=1, help="executor steps between parameter pulls")
    evaluation_epsilon: float = bounded(0.0, minimum=0.0, maximum=1.0)


@dataclasses.dataclass
class QNetworks:
    """Online and target Q-networks by network key, and which agents use each key."""

    online: Dict[str, Any]
    target: Dict[str, Any]
    groups: Dict[str, List[str]]


class MADQN(System):
    name = "madqn"
    Config = MADQNConfig
    description = "Multi-agent deep Q-networks (independent learners with shared or per-agent weights)"

    @classmethod
    def check_environment(cls, spec: MultiAgentSpec, environment: str) -> None:
        if not spec.discrete:
            raise ConfigError(
                "system",
                f"madqn needs discrete actions but {environment} has continuous actions; "
                "use the task's discrete-action variant (for MPE tasks: env.continuous_actions=false)",
            )

    def make_networks(self) -> QNetworks:
        import tensorflow as tf

        groups = self.components.architecture.groups(self.spec)
        online, target = {}, {}
        for key, agents in groups.items():
            agent_spec = self.spec.agents[agents[0]]
            dummy = tf.zeros((1,) + tuple(agent_spec.observation.shape), tf.float32)
            for store, prefix in ((online, "q"), (target, "target_q")):
                network = self.components.network.make(agent_spec.num_actions, name=f"{prefix}_{key}")
                network(dummy)  # create variables
                store[key] = network
        for key in groups:
            for source, destination in zip(online[key].variables, target[key].variables):
                destination.assign(source)
        return QNetworks(online, target, groups)

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
        return {key: list(network.variables) for key, network in networks.online.items()}

    def make_learner(self, networks: QNetworks, replay_client: Any):
        from mava_plugins.systems.madqn.learner import MADQNLearner

        return MADQNLearner(networks, self.config, self.components.dataset, replay_client)
