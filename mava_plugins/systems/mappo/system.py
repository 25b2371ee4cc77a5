"""MAPPO assembled from components: architecture, policy and value networks, on-policy sequences.

Execution is decentralised (each agent's policy sees its own observation); the value
function used for training is centralised through the ``architecture`` component's
``critic_inputs``. The default architecture is ``state_based`` (values of the environment's
global state); on an environment without a global state MAPPO uses ``centralised`` (values
of every agent's observation) instead, with the same options, unless
``stateless_architecture=error``. Weight sharing follows the architecture's groups.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

from mava_core.config import Component, bounded, component
from mava_core.errors import ConfigError
from mava_core.specs import PARALLEL, MultiAgentSpec
from mava_core.system import System


@dataclasses.dataclass
class MAPPOConfig:
    """Every setting of MAPPO (``mava config mappo`` lists them with their current values)."""

    architecture: Component = component("architecture", "state_based")
    network: Component = component("network", "mlp")
    value_network: Component = component("network", "mlp")
    dataset: Component = component("dataset", "on_policy_sequences")
    stateless_architecture: str = bounded(
        "centralised",
        choices=("centralised", "error"),
        help="env without a global state and a state-reading architecture: use centralised values, or fail",
    )
    policy_learning_rate: float = bounded(5e-4, minimum=0.0, help="Adam step size of the policy group")
    value_learning_rate: float = bounded(5e-4, minimum=0.0, help="Adam step size of the value group")
    discount: float = bounded(0.99, minimum=0.0, maximum=1.0)
    gae_lambda: float = bounded(0.95, minimum=0.0, maximum=1.0, help="GAE lambda (0: one-step TD, 1: Monte Carlo)")
    normalise_advantages: bool = bounded(True, help="standardise advantages within each minibatch")
    clip_epsilon: float = bounded(0.2, minimum=0.0, maximum=1.0, help="PPO ratio clip: [1 - eps, 1 + eps]")
    value_clip: float = bounded(0.2, minimum=0.0, help="clip value updates to +- this around the behaviour value (0: off)")
    entropy_coefficient: float = bounded(0.01, minimum=0.0, help="weight of the entropy bonus")
    initial_log_std: float = bounded(-0.5, help="continuous actions: initial log std (normalised action space)")
    min_log_std: float = bounded(-5.0, help="continuous actions: lower clip of the log std")
    max_log_std: float = bounded(1.0, help="continuous actions: upper clip of the log std")
    greedy_evaluation: bool = bounded(True, help="evaluator takes the most likely action (false: samples)")
    max_gradient_norm: Optional[float] = bounded(10.0, minimum=0.0, help="per-group global gradient norm clip")
    variable_update_period: int = bounded(10, minimum=1, help="executor steps between parameter pulls")

    def check(self, prefix: str = "") -> None:
        if self.min_log_std > self.max_log_std:
            raise ConfigError(f"{prefix}min_log_std", f"must be <= {prefix}max_log_std ({self.max_log_std}), got {self.min_log_std}")
        if not self.min_log_std <= self.initial_log_std <= self.max_log_std:
            raise ConfigError(
                f"{prefix}initial_log_std",
                f"must lie in [{prefix}min_log_std, {prefix}max_log_std] = [{self.min_log_std}, {self.max_log_std}], "
                f"got {self.initial_log_std}",
            )


@dataclasses.dataclass
class MAPPONetworks:
    """Policy and value networks by network key, continuous groups' log-stds, and the groups."""

    policies: Dict[str, Any]
    values: Dict[str, Any]
    log_stds: Dict[str, Any]
    groups: Dict[str, List[str]]

    def policy_variables(self) -> Dict[str, List[Any]]:
        """What executors pull: each group's policy (with its log-std) and value network."""
        variables: Dict[str, List[Any]] = {}
        for key in self.groups:
            variables[f"policy/{key}"] = list(self.policies[key].variables) + (
                [self.log_stds[key]] if key in self.log_stds else []
            )
            variables[f"value/{key}"] = list(self.values[key].variables)
        return variables


class MAPPO(System):
    """Multi-agent PPO with a centralised value function (Yu et al. 2022)."""

    name = "mappo"
    Config = MAPPOConfig
    description = "multi-agent PPO: decentralised stochastic policies, centralised value function, GAE, clipped objectives"

    def __init__(self, config: Any, spec: MultiAgentSpec, components: Any):
        super().__init__(config, spec, components)
        if not getattr(components.dataset, "on_policy", False):
            raise ConfigError(
                "dataset",
                "mappo trains once on fresh sequences that carry behaviour log-probabilities; use an on-policy "
                f"dataset (dataset=on_policy_sequences), not {config.dataset.name!r}",
            )
        self.architecture = self._value_architecture(config, spec, components.architecture)
        groups = self.architecture.groups(spec)
        for key, agents in groups.items():
            if len({spec.agents[a].discrete for a in agents}) > 1:
                raise ConfigError("architecture.shared_weights", f"agents {agents} mix discrete and continuous actions; set it to false")
            sizes = {self.architecture.critic_input_size(spec, a, with_actions=False) for a in agents}
            if len(sizes) > 1:
                raise ConfigError(
                    "architecture.shared_weights",
                    f"agents {agents} share a value network but their value inputs differ in size {sorted(sizes)}; set it to false",
                )
        self.groups = groups

    def reads_state(self) -> bool:
        """Whether the value functions read the global state (the ``state_based`` architecture)."""
        return bool(getattr(self.architecture, "uses_state", False))

    @staticmethod
    def _value_architecture(config: Any, spec: MultiAgentSpec, architecture: Any) -> Any:
        """The configured architecture, or ``centralised`` for a state-reading one on a stateless env."""
        if not getattr(architecture, "uses_state", False) or spec.state is not None:
            architecture.check(spec, "this environment")
            return architecture
        if config.stateless_architecture == "error":
            raise ConfigError(
                "architecture",
                f"{config.architecture.name!r} value functions read the global state, which this environment does not "
                "provide; choose architecture=centralised (or stateless_architecture=centralised)",
            )
        from mava_plugins.architectures.views import Centralised

        return Centralised(architecture.config)

    @classmethod
    def check_environment(cls, spec: MultiAgentSpec, environment: str) -> None:
        if spec.kind != PARALLEL:
            raise ConfigError("environment", f"mappo needs a parallel environment (all agents act each step); {environment} is {spec.kind}")

    def make_networks(self) -> MAPPONetworks:
        import tensorflow as tf

        policies, values, log_stds = {}, {}, {}
        for key, agents in self.groups.items():
            agent_spec = self.spec.agents[agents[0]]
            policy = self.components.network.make(agent_spec.num_actions, name=f"policy_{key}")
            policy(tf.zeros((1,) + tuple(agent_spec.observation.shape), tf.float32))  # create variables
            value = self.components.value_network.make(1, name=f"value_{key}")
            width = self.architecture.critic_input_size(self.spec, agents[0], with_actions=False)
            value(tf.zeros((1, width), tf.float32))
            policies[key], values[key] = policy, value
            if not agent_spec.discrete:
                initial = tf.fill((agent_spec.num_actions,), float(self.config.initial_log_std))
                log_stds[key] = tf.Variable(initial, name=f"log_std_{key}")
        return MAPPONetworks(policies, values, log_stds, dict(self.groups))

    def make_policy(self, networks: MAPPONetworks, evaluation: bool, seed: int):
        from mava_plugins.systems.mappo.policy import MAPPOPolicy

        return MAPPOPolicy(networks, self.spec, self.architecture, self.config, evaluation=evaluation, seed=seed)

    def policy_variables(self, networks: MAPPONetworks) -> Dict[str, List[Any]]:
        return networks.policy_variables()

    def make_learner(self, networks: MAPPONetworks, replay_client: Any):
        from mava_plugins.systems.mappo.learner import MAPPOLearner

        return MAPPOLearner(networks, self.spec, self.architecture, self.config)
