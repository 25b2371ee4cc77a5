"""Q-learning pieces shared by value-based systems (MADQN, VDN, QMIX).

* :class:`QLearningConfig`: the settings every Q-learning system has (component slots for
  architecture, network, exploration and dataset; learning rate, discount, targets, loss).
* :class:`QNetworks` and :func:`make_q_networks`: online and target Q-networks, one pair
  per network key of the architecture's groups (agents of a group share the network).
* :func:`group_q_values`: for one batch of transitions, each group's Q-values of the taken
  actions and its bootstrap values (double-Q or plain max over legal next actions).
* :func:`per_agent_columns`: those values rearranged as ``[B, num_agents]`` in agent order,
  the input of a mixer.
* :func:`td_loss`: Huber (or squared) loss of TD errors; :func:`make_target_update`.

TensorFlow is imported inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from mava_core.config import Component, bounded, component
from mava_core.specs import MultiAgentSpec
from mava_plugins.components.target_update import TargetUpdate
from mava_plugins.components.value_policy import masked_argmax


@dataclasses.dataclass
class QLearningConfig:
    """Settings shared by the Q-learning systems (MADQN, VDN, QMIX)."""

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

    def online_variables(self) -> List[Any]:
        return [v for key in self.groups for v in self.online[key].variables]

    def target_variables(self) -> List[Any]:
        return [v for key in self.groups for v in self.target[key].variables]

    def trainable_variables(self) -> List[Any]:
        return [v for key in self.groups for v in self.online[key].trainable_variables]

    def policy_variables(self) -> Dict[str, List[Any]]:
        """The online networks' variables by network key (what executors pull)."""
        return {key: list(network.variables) for key, network in self.online.items()}


def make_q_networks(spec: MultiAgentSpec, architecture: Any, network: Any) -> QNetworks:
    """One online and one target Q-network per group of ``architecture``, targets equal to online."""
    import tensorflow as tf

    groups = architecture.groups(spec)
    online, target = {}, {}
    for key, agents in groups.items():
        agent_spec = spec.agents[agents[0]]
        dummy = tf.zeros((1,) + tuple(agent_spec.observation.shape), tf.float32)
        for store, prefix in ((online, "q"), (target, "target_q")):
            net = network.make(agent_spec.num_actions, name=f"{prefix}_{key}")
            net(dummy)  # create variables
            store[key] = net
    for key in groups:
        for source, destination in zip(online[key].variables, target[key].variables):
            destination.assign(source)
    return QNetworks(online, target, groups)


def make_target_update(online: Sequence[Any], target: Sequence[Any], config: Any) -> TargetUpdate:
    """Hard copies every ``config.target_update_period`` steps, or Polyak averaging when it is 0."""
    if config.target_update_period > 0:
        return TargetUpdate(online, target, period=config.target_update_period)
    return TargetUpdate(online, target, tau=config.target_tau or 0.005)


def stack_agents(per_agent: Dict[str, Any], agents: List[str]):
    """Concatenate the agents' batches along the batch axis: [B * len(agents), ...]."""
    import tensorflow as tf

    return tf.concat([per_agent[a] for a in agents], axis=0)


def chosen_q(q_values, actions):
    """Q-value of the action taken: ``q_values`` [N, A], ``actions`` [N] -> [N]."""
    import tensorflow as tf

    return tf.gather(q_values, actions, batch_dims=1)


def bootstrap_values(online: Any, target: Any, next_observations, next_masks, double_q: bool):
    """Target network's value of the next observations at the greedy legal action.

    With ``double_q`` the online network picks the action (van Hasselt et al. 2016) and the
    target network evaluates it; otherwise the target network does both (a masked max).
    """
    next_target_q = target(next_observations)
    selector = online(next_observations) if double_q else next_target_q
    next_actions = masked_argmax(selector, next_masks)
    return chosen_q(next_target_q, next_actions)


class GroupQValues(NamedTuple):
    """One network key's values for a batch, agents stacked along the batch axis (agent-major)."""

    key: str
    agents: List[str]
    chosen: Any  # [len(agents) * B]: online Q of the taken actions
    bootstrap: Any  # [len(agents) * B]: target value of the next observations


def group_q_values(networks: QNetworks, data: Dict[str, Any], double_q: bool) -> List[GroupQValues]:
    """Chosen-action Q-values and bootstrap values of every group, one network call per group."""
    results = []
    for key, agents in networks.groups.items():
        online, target = networks.online[key], networks.target[key]
        q_values = online(stack_agents(data["observations"], agents))
        chosen = chosen_q(q_values, stack_agents(data["actions"], agents))
        bootstrap = bootstrap_values(
            online,
            target,
            stack_agents(data["next_observations"], agents),
            stack_agents(data["next_masks"], agents),
            double_q,
        )
        results.append(GroupQValues(key, list(agents), chosen, bootstrap))
    return results


def per_agent_columns(groups: Sequence[GroupQValues], field: str, agents: Sequence[str]):
    """``[B, len(agents)]``: one group field (``"chosen"`` or ``"bootstrap"``) with a column per agent."""
    import tensorflow as tf

    columns: Dict[str, Any] = {}
    for group in groups:
        values = tf.reshape(getattr(group, field), (len(group.agents), -1))  # [agents in group, B]
        for index, agent in enumerate(group.agents):
            columns[agent] = values[index]
    return tf.stack([columns[a] for a in agents], axis=1)


def td_loss(td_errors, huber_delta: float):
    """Elementwise loss of TD errors: Huber with threshold ``huber_delta``, or ``0.5 * e**2`` when it is 0."""
    import tensorflow as tf

    if huber_delta > 0:
        abs_errors = tf.abs(td_errors)
        quadratic = tf.minimum(abs_errors, huber_delta)
        return 0.5 * quadratic**2 + huber_delta * (abs_errors - quadratic)
    return 0.5 * td_errors**2
