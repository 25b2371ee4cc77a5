"""MADDPG and MAD4PG: one deterministic-policy-gradient system, two critic heads.

Both are assembled from the same components: an ``architecture`` (which agents share weights
and what each critic sees; ``centralised`` by default), a ``policy_network`` and a
``critic_network``, an ``exploration`` component (action noise or an epsilon schedule) and a
``dataset`` of n-step transitions. They differ only in the critic head
(:mod:`.heads`) and in the config fields that head needs:

* ``maddpg`` (Lowe et al. 2017): a scalar critic and a TD target from target networks;
* ``mad4pg`` (D4PG, Barth-Maron et al. 2018, per agent): a categorical distributional critic
  over ``num_atoms`` atoms in ``[v_min, v_max]`` and n-step returns (``dataset.n_step``,
  5 by default).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import numpy as np
from dm_env import specs

from mava_core.config import Component, bounded, component
from mava_core.errors import ConfigError
from mava_core.specs import SEQUENTIAL, MultiAgentSpec
from mava_core.system import System


def _check_targets(config: Any, prefix: str) -> None:
    if config.target_update_period == 0 and config.target_tau == 0:
        raise ConfigError(
            f"{prefix}target_tau",
            "must be > 0 when target_update_period is 0 (soft target updates); "
            "or set target_update_period for periodic hard copies",
        )


@dataclasses.dataclass
class MADDPGConfig:
    """Settings of MADDPG (and, with the head's fields added, of MAD4PG)."""

    architecture: Component = component("architecture", "centralised")
    policy_network: Component = component("network", "mlp")
    critic_network: Component = component("network", "mlp")
    exploration: Component = component("exploration", "gaussian_noise")
    dataset: Component = component("dataset", "transition_replay")
    policy_learning_rate: float = bounded(1e-3, minimum=0.0, help="Adam learning rate of the actors")
    critic_learning_rate: float = bounded(1e-3, minimum=0.0, help="Adam learning rate of the critics")
    discount: float = bounded(
        0.95, minimum=0.0, maximum=1.0,
        help="0.95 as in the original MADDPG: at 0.99 the critics' values kept drifting on MPE Spread and the policies fell back to random",
    )
    target_update_period: int = bounded(0, minimum=0, help="trainer steps between hard target copies (0: soft updates with target_tau)")
    target_tau: float = bounded(0.01, minimum=0.0, maximum=1.0, help="Polyak rate of the target networks when target_update_period is 0")
    gumbel_temperature: float = bounded(1.0, minimum=1e-3, help="discrete actions: temperature of the Gumbel-softmax relaxation")
    gumbel_straight_through: bool = bounded(
        False, help="discrete actions: the critic sees the one-hot argmax of the Gumbel-softmax sample, the actor gets the soft gradient"
    )
    policy_regularisation: float = bounded(1e-3, minimum=0.0, help="weight of the actors' mean squared pre-tanh outputs or logits")
    max_gradient_norm: Optional[float] = bounded(10.0, minimum=0.0, help="clip each optimisation group's gradient norm (None: off)")
    variable_update_period: int = bounded(100, minimum=1, help="executor steps between parameter pulls")

    def check(self, prefix: str = "") -> None:
        _check_targets(self, prefix)


def _n_step_dataset(n_step: int) -> Component:
    from mava_plugins.datasets.transition_replay import TransitionReplay

    return Component("dataset", "transition_replay", TransitionReplay.Config(n_step=n_step))


@dataclasses.dataclass
class MAD4PGConfig(MADDPGConfig):
    """MADDPG's settings with a categorical critic over fixed atoms and 5-step transitions."""

    dataset: Component = dataclasses.field(default_factory=lambda: _n_step_dataset(5))
    discount: float = bounded(0.99, minimum=0.0, maximum=1.0)
    v_min: float = bounded(-150.0, help="lowest atom of the critic's value distribution")
    v_max: float = bounded(150.0, help="highest atom of the critic's value distribution")
    num_atoms: int = bounded(51, minimum=2, maximum=1001, help="atoms of the critic's value distribution")

    def check(self, prefix: str = "") -> None:
        super().check(prefix)
        if not self.v_min < self.v_max:
            raise ConfigError(f"{prefix}v_min", f"must be below v_max ({self.v_max}), got {self.v_min}")


@dataclasses.dataclass
class DPGNetworks:
    """Online and target actors by policy key, online and target critics by critic key."""

    policy: Dict[str, Any]
    target_policy: Dict[str, Any]
    critic: Dict[str, Any]
    target_critic: Dict[str, Any]
    policy_groups: Dict[str, List[str]]
    critic_groups: Dict[str, List[str]]


class MADDPG(System):
    """Multi-agent DDPG: deterministic actors trained through per-agent critics (centralised by default)."""

    name = "maddpg"
    Config = MADDPGConfig
    description = "Multi-agent DDPG: deterministic actors, centralised critics, target networks"

    def __init__(self, config: Any, spec: MultiAgentSpec, components: Any):
        super().__init__(config, spec, components)
        components.architecture.check(spec, "this environment")
        continuous = [agent for agent, agent_spec in spec.agents.items() if not agent_spec.discrete]
        if getattr(components.exploration, "discrete_only", False) and continuous:
            raise ConfigError(
                "exploration",
                f"this exploration samples discrete actions only, but {', '.join(continuous)} act continuously; "
                "use gaussian_noise or ornstein_uhlenbeck",
            )
        for key, agents in components.architecture.groups(spec).items():
            if len({spec.agents[a].discrete for a in agents}) > 1:
                raise ConfigError(
                    "architecture.shared_weights",
                    f"agents {', '.join(agents)} share network {key!r} but mix discrete and continuous actions; "
                    "set architecture.shared_weights=false",
                )

    def reads_state(self) -> bool:
        """Whether the critics read the global state (the ``state_based`` architecture)."""
        return bool(getattr(self.components.architecture, "uses_state", False))

    @classmethod
    def check_environment(cls, spec: MultiAgentSpec, environment: str) -> None:
        if spec.kind == SEQUENTIAL:
            raise ConfigError(
                "system", f"{cls.name} needs every agent to act at every step, but agents of {environment} take turns"
            )
        for agent, agent_spec in spec.agents.items():
            if agent_spec.discrete:
                continue
            action = agent_spec.action
            if not isinstance(action, specs.BoundedArray):
                raise ConfigError(
                    "system", f"{cls.name} needs discrete or bounded continuous actions; {agent} of {environment} has unbounded actions"
                )
            if not (np.all(np.isfinite(action.minimum)) and np.all(np.isfinite(action.maximum))):
                raise ConfigError(
                    "system", f"{cls.name} scales tanh actions to the action bounds, but {agent} of {environment} has infinite bounds"
                )

    # ----------------------------------------------------------------- networks
    def make_head(self) -> Any:
        """The critic head: a scalar Q-value for MADDPG."""
        from mava_plugins.systems.maddpg.heads import ScalarHead

        return ScalarHead()

    def critic_groups(self) -> Dict[str, List[str]]:
        """Critic key -> agents: the policy groups, split per agent where critic inputs differ in size."""
        architecture = self.components.architecture
        groups: Dict[str, List[str]] = {}
        for key, agents in architecture.groups(self.spec).items():
            sizes = {architecture.critic_input_size(self.spec, agent) for agent in agents}
            if len(sizes) == 1:
                groups[key] = list(agents)
            else:  # e.g. networked critics of agents with different numbers of neighbours
                groups.update({agent: [agent] for agent in agents})
        return groups

    def make_networks(self) -> DPGNetworks:
        import tensorflow as tf

        architecture = self.components.architecture
        head = self.make_head()
        policy_groups = architecture.groups(self.spec)
        critic_groups = self.critic_groups()
        policy, target_policy, critic, target_critic = {}, {}, {}, {}
        for key, agents in policy_groups.items():
            agent_spec = self.spec.agents[agents[0]]
            dummy = tf.zeros((1,) + tuple(agent_spec.observation.shape), tf.float32)
            for store, prefix in ((policy, "policy"), (target_policy, "target_policy")):
                store[key] = self.components.policy_network.make(agent_spec.num_actions, name=f"{prefix}_{key}")
                store[key](dummy)
        for key, agents in critic_groups.items():
            dummy = tf.zeros((1, architecture.critic_input_size(self.spec, agents[0])), tf.float32)
            for store, prefix in ((critic, "critic"), (target_critic, "target_critic")):
                store[key] = self.components.critic_network.make(head.output_size, name=f"{prefix}_{key}")
                store[key](dummy)
        for online, target in ((policy, target_policy), (critic, target_critic)):
            for key in online:
                for source, destination in zip(online[key].variables, target[key].variables):
                    destination.assign(source)
        return DPGNetworks(policy, target_policy, critic, target_critic, policy_groups, critic_groups)

    def make_policy(self, networks: DPGNetworks, evaluation: bool, seed: int):
        from mava_plugins.systems.maddpg.policy import DeterministicPolicy

        return DeterministicPolicy(
            networks.policy, networks.policy_groups, self.spec, self.components.exploration, evaluation=evaluation, seed=seed
        )

    def policy_variables(self, networks: DPGNetworks) -> Dict[str, List[Any]]:
        return {key: list(network.variables) for key, network in networks.policy.items()}

    def make_learner(self, networks: DPGNetworks, replay_client: Any):
        from mava_plugins.systems.maddpg.learner import DPGLearner

        return DPGLearner(
            networks,
            self.config,
            self.spec,
            self.components.architecture,
            self.make_head(),
            self.components.dataset,
            replay_client,
        )


class MAD4PG(MADDPG):
    """Multi-agent D4PG: MADDPG with a categorical distributional critic and n-step returns."""

    name = "mad4pg"
    Config = MAD4PGConfig
    description = "Multi-agent D4PG: MADDPG with categorical distributional critics and n-step returns"

    def make_head(self) -> Any:
        """The critic head: a categorical distribution over ``num_atoms`` atoms in ``[v_min, v_max]``."""
        from mava_plugins.systems.maddpg.heads import CategoricalHead

        return CategoricalHead(self.config.v_min, self.config.v_max, self.config.num_atoms)
