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

Recurrent (time-major) variants, for networks with ``recurrent = True`` trained on stored
sequences (``sequence_replay``):

* :func:`unroll_from_stored_state`: an unroll from the stored state whose first ``burn_in``
  steps only advance the state (no gradient flows into them);
* :func:`sequence_q_values`: for a batch of sequences, every agent's chosen-action Q-values
  and double-Q bootstrap values at the trained steps, ``[T', B, N]`` (``T' = T - burn_in - 1``),
  with rewards, discounts, the loss mask and the global state at each step;
* :func:`masked_sequence_loss` and :func:`sequence_priorities`: the loss over valid trained
  steps and R2D2's per-sequence priorities.

TensorFlow is imported inside the functions, so importing this module stays cheap.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from mava_core.config import Component, bounded, component
from mava_core.errors import ConfigError
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

    def check(self, prefix: str = "") -> None:
        """A recurrent network trains on sequences, a feedforward one on transitions."""
        recurrent = bool(getattr(self.network.options, "recurrent", False))
        sequences = bool(getattr(self.dataset.options, "sequences", False))
        if recurrent and not sequences:
            raise ConfigError(
                f"{prefix}dataset",
                f"network={self.network.name} is recurrent and trains on stored sequences; set dataset=sequence_replay "
                f"(or run the recurrent_* variant of the system), not {self.dataset.name!r}",
            )
        if sequences and not recurrent:
            raise ConfigError(
                f"{prefix}network",
                f"dataset={self.dataset.name} stores sequences for recurrent agents; set network=gru "
                f"(or use dataset=transition_replay with {self.network.name!r}), not {self.network.name!r}",
            )


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
            if is_recurrent(network):
                net(dummy, net.initial_state(1))  # create variables
            else:
                net(dummy)
            store[key] = net
    for key in groups:
        for source, destination in zip(online[key].variables, target[key].variables):
            destination.assign(source)
    return QNetworks(online, target, groups)


def is_recurrent(network: Any) -> bool:
    """Whether a network component makes recurrent networks (``recurrent = True``)."""
    return bool(getattr(network, "recurrent", False))


def epsilon_greedy_vector_refusal(components: Any, network_name: str) -> Optional[str]:
    """Why the epsilon-greedy policy over these components cannot act in several environment copies, or None."""
    if is_recurrent(components.network):
        return f"network={network_name} is recurrent and its policy keeps one episode's state per agent"
    return None


def make_epsilon_greedy_policy(networks: QNetworks, spec: MultiAgentSpec, components: Any, config: Any, evaluation: bool, seed: int):
    """The executors' policy over ``networks``: recurrent epsilon-greedy for a recurrent network component."""
    from mava_plugins.components.value_policy import EpsilonGreedyPolicy, RecurrentEpsilonGreedyPolicy

    policy_cls = RecurrentEpsilonGreedyPolicy if is_recurrent(components.network) else EpsilonGreedyPolicy
    return policy_cls(
        networks.online,
        networks.groups,
        spec,
        components.exploration,
        evaluation=evaluation,
        seed=seed,
        evaluation_epsilon=config.evaluation_epsilon,
    )


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


# ------------------------------------------------------------------ recurrent (time-major)
def time_major(values):
    """``[B, T, ...] -> [T, B, ...]``."""
    import tensorflow as tf

    rank = values.shape.rank
    return tf.transpose(values, [1, 0] + list(range(2, rank)))


def unroll_from_stored_state(network: Any, observations, starts, state, burn_in: int):
    """Q-values ``[T - burn_in, N, A]`` of a time-major unroll from the stored ``state``.

    The first ``burn_in`` steps only advance the state (R2D2's burn-in, Kapturowski et al.
    2019): their outputs are dropped and no gradient flows back through them, so the loss
    depends on them only through the (stopped) state they lead to.
    """
    import tensorflow as tf

    if burn_in > 0:
        _, state = network.unroll(observations[:burn_in], starts[:burn_in], state)
        state = tf.stop_gradient(state)
    q_values, _ = network.unroll(observations[burn_in:], starts[burn_in:], state)
    return q_values


class SequenceQValues(NamedTuple):
    """Per-agent values at the trained steps ``burn_in .. T - 2`` of a batch of sequences."""

    chosen: Any  # [T', B, N]: online Q of the taken actions
    bootstrap: Any  # [T', B, N]: target Q of the next step's greedy legal action
    rewards: Any  # [T', B, N]
    discounts: Any  # [T', B, N]: the environment's discounts (without gamma)
    mask: Any  # [T', B]: 1 where the step was really taken (not padding, not after the episode)
    state: Any  # [T', B, *state] global state at the step, or None
    next_state: Any  # [T', B, *state] global state at the next step, or None


def sequence_q_values(networks: QNetworks, data: Dict[str, Any], agents: Sequence[str], double_q: bool, burn_in: int):
    """Chosen-action and bootstrap values of every agent over stored sequences, one unroll per group.

    Online and target networks both start from the stored recurrent state and unroll over
    the same sequence (the state resets where ``starts`` is 1). Step ``t``'s bootstrap value
    is the target network's Q at step ``t + 1`` of the greedy legal action there (picked by
    the online network with ``double_q``); the last step only provides the bootstrap of the
    step before it.
    """
    import tensorflow as tf

    steps = data["starts"].shape[1]
    starts = time_major(data["starts"])  # [T, B]
    chosen: Dict[str, Any] = {}
    bootstrap: Dict[str, Any] = {}
    for key, group in networks.groups.items():
        online, target = networks.online[key], networks.target[key]
        size = len(group)
        observations = time_major(stack_agents(data["observations"], group))  # [T, G*B, ...] agent-major
        masks = time_major(stack_agents(data["masks"], group))
        actions = time_major(stack_agents(data["actions"], group))  # [T, G*B]
        group_starts = tf.tile(starts, [1, size])
        stored = stack_agents(data["core_state"], group)  # [G*B, H]
        online_q = unroll_from_stored_state(online, observations, group_starts, stored, burn_in)  # [T-k, G*B, A]
        target_q = unroll_from_stored_state(target, observations, group_starts, stored, burn_in)
        group_chosen = tf.gather(online_q[:-1], actions[burn_in : steps - 1], batch_dims=2)  # [T', G*B]
        selector = online_q[1:] if double_q else target_q[1:]
        next_actions = masked_argmax(selector, masks[burn_in + 1 :])
        group_bootstrap = tf.gather(target_q[1:], next_actions, batch_dims=2)
        for field, store in ((group_chosen, chosen), (group_bootstrap, bootstrap)):
            per_agent = tf.reshape(field, (steps - 1 - burn_in, size, -1))  # [T', G, B]
            for index, agent in enumerate(group):
                store[agent] = per_agent[:, index]

    def columns(values: Dict[str, Any]):
        return tf.stack([values[a] for a in agents], axis=-1)  # [T', B, N]

    def trained(per_agent: Dict[str, Any]):
        return columns({a: time_major(per_agent[a])[burn_in : steps - 1] for a in agents})

    state = next_state = None
    if "state" in data:
        full_state = time_major(data["state"])
        state, next_state = full_state[burn_in : steps - 1], full_state[burn_in + 1 :]
    return SequenceQValues(
        chosen=columns(chosen),
        bootstrap=columns(bootstrap),
        rewards=trained(data["rewards"]),
        discounts=trained(data["discounts"]),
        mask=time_major(data["valid"])[burn_in : steps - 1],
        state=state,
        next_state=next_state,
    )


def masked_sequence_loss(per_step, mask, weights=None):
    """Mean of ``per_step`` ``[T', B]`` over the valid steps, each sequence weighted by ``weights`` ``[B]``."""
    import tensorflow as tf

    if weights is not None:
        per_step = per_step * tf.cast(weights, tf.float32)[None, :]
    return tf.reduce_sum(per_step * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def sequence_priorities(abs_td_errors, mask, eta: float):
    """R2D2's sequence priority ``eta * max_t |d_t| + (1 - eta) * mean_t |d_t|`` over valid steps: ``[B]``."""
    import tensorflow as tf

    masked = abs_td_errors * mask
    mean = tf.reduce_sum(masked, axis=0) / tf.maximum(tf.reduce_sum(mask, axis=0), 1.0)
    return eta * tf.reduce_max(masked, axis=0) + (1.0 - eta) * mean
