"""Value decomposition (VDN, QMIX): per-agent Q-networks trained through a mixer on the team reward.

One :class:`ValueDecomposition` system class with a ``mixer`` component slot; ``vdn`` and
``qmix`` are the same system with different default mixers (``additive`` and
``monotonic``). Agents act epsilon-greedily on their own Q-values (as in MADQN); the
learner mixes the chosen actions' Q-values into ``Q_tot`` and regresses it on the n-step
team target ``r_team + d_team * Q_tot_target(next)``, where the target mixer mixes the target
networks' values of the agents' greedy next actions (double-Q selection by default).

Team reward and discount: the environment pays every agent a reward. The team reward is
the mean of the agents' rewards (``team_reward=mean``, the default; on tasks that pay every
agent the same reward, such as ``debug:two_step`` and ``debug:simple_spread``, it is that
reward) or their sum (``team_reward=sum``). The team discount is the largest of the
agents' discounts: the team's episode goes on while any agent's does.
"""
from __future__ import annotations

import dataclasses
from typing import Any, List

from mava_core.config import Component, bounded, component
from mava_core.errors import ConfigError
from mava_core.specs import MultiAgentSpec
from mava_plugins.components.q_learning import QLearningConfig, QNetworks
from mava_plugins.components.q_system import QLearningSystem, recurrent_defaults

TEAM_REWARDS = ("mean", "sum")


@dataclasses.dataclass
class VDNConfig(QLearningConfig):
    """VDN's settings: the shared Q-learning settings, a mixer and how the team reward is formed."""

    mixer: Component = component("mixer", "additive")
    team_reward: str = bounded("mean", choices=TEAM_REWARDS, help="team reward from the agents' rewards: their mean or sum")


@dataclasses.dataclass
class QMIXConfig(VDNConfig):
    """QMIX's settings: VDN's with the monotonic (state-conditioned) mixer and a lower learning rate.

    With Sonnet's default initialiser and 5e-4, ``Q_tot`` diverged on MPE Spread; the mixer's
    small initial weights (``mixer.init_scale``) and 1e-4 keep it stable (docs/systems/qmix.md).
    """

    mixer: Component = component("mixer", "monotonic")
    learning_rate: float = bounded(1e-4, minimum=0.0)


RecurrentVDNConfig = recurrent_defaults(VDNConfig)
RecurrentQMIXConfig = recurrent_defaults(QMIXConfig)


@dataclasses.dataclass
class ValueDecompositionNetworks:
    """The agents' Q-networks (online and target) and the online and target mixers."""

    q: QNetworks
    mixer: Any
    target_mixer: Any
    agents: List[str]


class ValueDecomposition(QLearningSystem):
    """Agents' Q-values combined by a ``mixer`` component and trained end to end on the team reward.

    MADQN's system (acting, Q-networks, the Q-learning update) plus the mixers: the networks
    gain an online and a target mixer, and the learner mixes (``ValueDecompositionLearner``).
    """

    name = "value_decomposition"
    Config = VDNConfig
    description = "value decomposition: per-agent Q-networks trained through a mixer of their Q-values"

    def __init__(self, config: Any, spec: MultiAgentSpec, components: Any):
        super().__init__(config, spec, components)
        if getattr(components.mixer, "uses_state", False) and spec.state is None:
            raise ConfigError(
                "mixer", f"{self.name} with mixer {config.mixer.name!r} needs a global state, which this environment does not provide"
            )

    def reads_state(self) -> bool:
        """Whether the mixer reads the global state (QMIX's does, VDN's sum does not)."""
        return bool(getattr(self.components.mixer, "uses_state", False))

    def make_networks(self) -> ValueDecompositionNetworks:
        import tensorflow as tf

        q = super().make_networks()
        agents = self.spec.agent_ids
        state_size = None
        if self.spec.state is not None:
            state_size = int(tf.reduce_prod(self.spec.state.shape)) if self.spec.state.shape else 1
        mixers = []
        for name in ("mixer", "target_mixer"):
            mixer = self.components.mixer.make(len(agents), state_size, name=name)
            state = tf.zeros((1, state_size), tf.float32) if state_size is not None else None
            mixer(tf.zeros((1, len(agents)), tf.float32), state)  # create variables
            mixers.append(mixer)
        for source, destination in zip(mixers[0].variables, mixers[1].variables):
            destination.assign(source)
        return ValueDecompositionNetworks(q, mixers[0], mixers[1], agents)

    def q_networks(self, networks: ValueDecompositionNetworks) -> QNetworks:
        return networks.q

    def make_learner(self, networks: ValueDecompositionNetworks, replay_client: Any):
        from mava_plugins.components.q_learner import QLearnerSettings
        from mava_plugins.systems.value_decomposition.learner import ValueDecompositionLearner

        settings = QLearnerSettings.from_config(self.config)
        return ValueDecompositionLearner(
            networks, settings, self.components.dataset, replay_client, self.config.team_reward, recurrent=self.recurrent
        )


class VDN(ValueDecomposition):
    """Value-decomposition networks (Sunehag et al. 2018): ``Q_tot`` is the sum of the agents' Q-values."""

    name = "vdn"
    Config = VDNConfig
    description = "VDN: per-agent Q-networks trained through the sum of their Q-values on the team reward"


class QMIX(ValueDecomposition):
    """QMIX (Rashid et al. 2018): a monotonic mixing network conditioned on the global state."""

    name = "qmix"
    Config = QMIXConfig
    description = "QMIX: per-agent Q-networks mixed monotonically by state-conditioned hypernetworks"

    @classmethod
    def check_environment(cls, spec: MultiAgentSpec, environment: str) -> None:
        super().check_environment(spec, environment)
        if spec.state is None:
            raise ConfigError(
                "system",
                f"qmix needs a global state for its mixer but {environment} provides none; "
                "use an environment with a state, or vdn (mixer=additive), which needs none",
            )


class RecurrentVDN(VDN):
    """VDN with recurrent (GRU) agents trained on stored sequences."""

    name = "recurrent_vdn"
    Config = RecurrentVDNConfig
    description = "VDN with GRU agents: sequence replay with stored recurrent state and burn-in (network=gru)"


class RecurrentQMIX(QMIX):
    """QMIX with recurrent (GRU) agents trained on stored sequences; mixes at every step with that step's state."""

    name = "recurrent_qmix"
    Config = RecurrentQMIXConfig
    description = "QMIX with GRU agents: sequence replay with stored recurrent state and burn-in (network=gru)"
