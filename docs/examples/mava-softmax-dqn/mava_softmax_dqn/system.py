"""The ``softmax_dqn`` system: MADQN with a softmax (Boltzmann) exploration policy.

Everything but acting is MADQN's: the Q-networks, the replay dataset and the learner come
from :class:`~mava_plugins.components.q_system.QLearningSystem`. This module swaps the
default of the ``exploration`` slot for a temperature schedule and makes the executors'
policy a :class:`~mava_softmax_dqn.policy.SoftmaxPolicy`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from mava_core.config import Component, bounded, component
from mava_core.errors import ConfigError
from mava_core.specs import MultiAgentSpec
from mava_plugins.components.q_learning import QLearningConfig, QNetworks
from mava_plugins.components.q_system import QLearningSystem


class LinearTemperature:
    """Exploration component: the softmax temperature, from ``start`` to ``end`` over ``decay_steps``."""

    @dataclasses.dataclass
    class Config:
        start: float = bounded(1.0, minimum=0.0, help="temperature at the first environment step")
        end: float = bounded(0.05, minimum=0.0, help="temperature from decay_steps on")
        decay_steps: int = bounded(20_000, minimum=1, help="environment steps (all executors) from start to end")

    def __init__(self, config: "LinearTemperature.Config"):
        self.config = config

    def value(self, env_steps: int) -> float:
        c = self.config
        fraction = min(1.0, max(0, env_steps) / c.decay_steps)
        return c.start + fraction * (c.end - c.start)


@dataclasses.dataclass
class SoftmaxDQNConfig(QLearningConfig):
    """MADQN's settings with a temperature schedule as the default exploration component."""

    exploration: Component = component("exploration", "linear_temperature")


class SoftmaxDQN(QLearningSystem):
    """MADQN whose agents sample each action from ``softmax(Q / temperature)`` over their legal actions."""

    name = "softmax_dqn"
    Config = SoftmaxDQNConfig
    description = "MADQN with softmax (Boltzmann) exploration over Q-values"

    def __init__(self, config: Any, spec: MultiAgentSpec, components: Any):
        super().__init__(config, spec, components)
        if self.recurrent:
            raise ConfigError(
                "network", f"softmax_dqn acts with a feedforward policy; use a feedforward network (mlp), not {config.network.name!r}"
            )

    def make_policy(self, networks: QNetworks, evaluation: bool, seed: int):
        from mava_softmax_dqn.policy import SoftmaxPolicy

        return SoftmaxPolicy(networks.online, networks.groups, self.spec, self.components.exploration, evaluation, seed)

    def vector_acting_refusal(self) -> Optional[str]:
        return None  # SoftmaxPolicy acts in every environment copy at once and keeps no per-episode state
