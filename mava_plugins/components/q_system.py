"""The system side shared by the Q-learning systems (MADQN, VDN, QMIX and their recurrent variants).

* :class:`QLearningSystem`: a :class:`~mava_core.system.System` that makes one online and one
  target Q-network per network key of the architecture, acts epsilon-greedily on them (batched
  over environment copies, except with a recurrent network) and trains them with a
  :class:`~mava_plugins.components.q_learner.QLearner`. MADQN is this class with a name; a
  system that acts differently (say, softmax over Q-values) overrides ``make_policy`` and
  ``vector_acting_refusal`` (docs/systems-authoring.md).
* :func:`recurrent_defaults`: a config class like another one whose defaults are
  ``network=gru`` and ``dataset=sequence_replay``: the recurrent variants differ by that alone.
* :func:`check_discrete_actions`: the refusal of an environment with continuous actions.
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


def check_discrete_actions(system: str, spec: MultiAgentSpec, environment: str) -> None:
    """Raise ConfigError naming ``system`` and ``environment`` when the actions are not discrete."""
    if not spec.discrete:
        raise ConfigError(
            "system",
            f"{system} needs discrete actions but {environment} has continuous actions; "
            "use the task's discrete-action variant (for MPE tasks: env.continuous_actions=false)",
        )


class QLearningSystem(System):
    """Q-networks per network key, epsilon-greedy acting, the Q-learning update (MADQN's behaviour)."""

    Config = QLearningConfig

    @classmethod
    def check_environment(cls, spec: MultiAgentSpec, environment: str) -> None:
        check_discrete_actions(cls.name, spec, environment)

    def make_networks(self) -> Any:
        return make_q_networks(self.spec, self.components.architecture, self.components.network)

    def q_networks(self, networks: Any) -> QNetworks:
        """The agents' Q-networks among what ``make_networks`` made (here: all of it)."""
        return networks

    @property
    def recurrent(self) -> bool:
        """Whether the network component is recurrent (then the agents train on sequences)."""
        return is_recurrent(self.components.network)

    def make_policy(self, networks: Any, evaluation: bool, seed: int):
        return make_epsilon_greedy_policy(self.q_networks(networks), self.spec, self.components, self.config, evaluation, seed)

    def policy_variables(self, networks: Any) -> Dict[str, List[Any]]:
        return self.q_networks(networks).policy_variables()

    def reads_state(self) -> bool:
        """Q-networks see observations only."""
        return False

    def vector_acting_refusal(self) -> Optional[str]:
        return epsilon_greedy_vector_refusal(self.components, self.config.network.name)

    def make_learner(self, networks: Any, replay_client: Any):
        from mava_plugins.components.q_learner import QLearner, QLearnerSettings

        settings = QLearnerSettings.from_config(self.config)
        return QLearner(networks, settings, self.components.dataset, replay_client, recurrent=self.recurrent)
