"""MAPPO's learner: GAE(lambda) advantages, clipped surrogate, clipped value loss, entropy bonus.

Loss terms and optimisation groups:

* ``policy`` group (every policy network and log-std; Adam at ``policy_learning_rate``):
  ``policy_loss`` (the negated clipped surrogate objective) and ``entropy_loss``
  (``-entropy_coefficient * entropy``), plus any term added by ``mava_trainer_loss`` hooks;
* ``value`` group (every value network; Adam at ``value_learning_rate``): ``value_loss``.

Each group has its own optimiser and only its own variables, so no value-loss coefficient
is needed. Gradients are clipped per group to ``max_gradient_norm`` by the trainer.

Advantages use the behaviour values stored with the data (standard PPO): the value of the
next step comes from the next stored step when it continues the same episode inside the
sequence, and otherwise (the sequence's last step, or an episode truncated by a time limit)
from the current value network on the stored next observation or state.
"""
from __future__ import annotations

from typing import Any, Dict, List

from mava_core.trainer import Learner, OptimisationGroup
from mava_plugins.systems.mappo.policy import (
    categorical_entropy,
    gaussian_entropy,
    gaussian_log_prob,
    masked_log_softmax,
)


def generalised_advantages(rewards, discounts, values, next_values, ends, gamma: float, lam: float):
    """GAE(lambda) over the last axis (time) of ``[..., T]`` tensors; returns (advantages, returns).

    ``delta_t = r_t + gamma * d_t * V'_t - V_t`` and
    ``A_t = delta_t + gamma * lam * d_t * (1 - end_t) * A_{t+1}`` with ``A_T = 0``, where
    ``d_t`` is the environment's discount (0 at termination), ``V'_t`` the value of the state
    that followed step t and ``end_t`` 1 where step t ended its episode (the next step then
    belongs to another episode). Returns are ``A_t + V_t``.
    """
    import tensorflow as tf

    rewards, discounts, values, next_values, ends = (
        tf.convert_to_tensor(x, tf.float32) for x in (rewards, discounts, values, next_values, ends)
    )
    rank = rewards.shape.rank
    to_time_major = [rank - 1] + list(range(rank - 1))
    to_batch_major = list(range(1, rank)) + [0]
    deltas = rewards + gamma * discounts * next_values - values
    carry = gamma * lam * discounts * (1.0 - ends)
    deltas_tm, carry_tm = tf.transpose(deltas, to_time_major), tf.transpose(carry, to_time_major)
    advantages_tm = tf.scan(
        lambda following, inputs: inputs[0] + inputs[1] * following,
        (deltas_tm, carry_tm),
        initializer=tf.zeros_like(deltas_tm[0]),
        reverse=True,
    )
    advantages = tf.transpose(advantages_tm, to_batch_major)
    return advantages, advantages + values


class MAPPOLearner(Learner):
    """PPO updates for every agent's policy, with a value function fed by the architecture."""

    def __init__(self, networks: Any, spec: Any, architecture: Any, config: Any):
        import sonnet as snt

        self.networks = networks
        self.spec = spec
        self.architecture = architecture
        self.config = config
        self.policy_optimizer = snt.optimizers.Adam(config.policy_learning_rate)
        self.value_optimizer = snt.optimizers.Adam(config.value_learning_rate)
        self.optimizer = self.policy_optimizer
        self._policy_variables = [v for key in networks.groups for v in networks.policies[key].trainable_variables]
        self._policy_variables += [networks.log_stds[key] for key in networks.groups if key in networks.log_stds]
        self._value_variables = [v for key in networks.groups for v in networks.values[key].trainable_variables]

    def trainable_variables(self) -> List[Any]:
        return self._policy_variables + self._value_variables

    def optimisation_groups(self) -> List[OptimisationGroup]:
        return [
            OptimisationGroup("policy", self._policy_variables, self.policy_optimizer, None),
            OptimisationGroup("value", self._value_variables, self.value_optimizer, ("value_loss",)),
        ]

    def policy_variables(self) -> Dict[str, List[Any]]:
        return self.networks.policy_variables()

    def after_update(self, step: Any) -> None:
        """Nothing follows an update (PPO has no target networks)."""
        return None

    def _values(self, key: str, observations: Dict[str, Any], state: Any):
        """``[len(agents) * N]`` value estimates of a group's agents (agent-major)."""
        import tensorflow as tf

        agents = self.networks.groups[key]
        inputs = [self.architecture.critic_inputs(self.spec, a, observations, None, state) for a in agents]
        return self.networks.values[key](tf.concat(inputs, axis=0))[:, 0]

    def losses(self, batch: Any) -> Dict[str, Any]:
        import tensorflow as tf

        c = self.config
        data = batch.data
        ends = tf.cast(data["ends"], tf.float32)  # [B, T]
        batch_size, length = tf.shape(ends)[0], tf.shape(ends)[1]

        def flat(x):  # [B, T, ...] -> [B * T, ...]
            return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], axis=0))

        observations = {a: flat(x) for a, x in data["observations"].items()}
        next_observations = {a: flat(x) for a, x in data["next_observations"].items()}
        state = flat(data["state"]) if "state" in data else None
        next_state = flat(data["next_state"]) if "next_state" in data else None
        # continuing inside the sequence: the next step's stored value is V(s_{t+1})
        inside = tf.concat([tf.ones_like(ends[:, :-1]), tf.zeros_like(ends[:, -1:])], axis=1) * (1.0 - ends)

        new_log_probs, old_log_probs, advantages, new_values, old_values, returns, entropies = [], [], [], [], [], [], []
        for key, agents in self.networks.groups.items():
            n = len(agents)

            def stack(field, agents=agents):  # [n, B, T]
                return tf.stack([tf.cast(data[field][a], tf.float32) for a in agents])

            shape = tf.stack([n, batch_size, length])
            values = tf.reshape(self._values(key, observations, state), shape)
            bootstrap = tf.stop_gradient(tf.reshape(self._values(key, next_observations, next_state), shape))
            behaviour_values = stack("values")
            following = tf.concat([behaviour_values[..., 1:], tf.zeros_like(behaviour_values[..., :1])], axis=-1)
            next_values = inside * following + (1.0 - inside) * bootstrap
            key_advantages, key_returns = generalised_advantages(
                stack("rewards"), stack("discounts"), behaviour_values, next_values,
                tf.broadcast_to(ends, tf.shape(behaviour_values)), c.discount, c.gae_lambda,
            )

            obs = tf.concat([observations[a] for a in agents], axis=0)  # [n * B * T, ...]
            outputs = self.networks.policies[key](obs)
            agent_spec = self.spec.agents[agents[0]]
            if agent_spec.discrete:
                masks = tf.concat([flat(tf.cast(data["masks"][a], tf.float32)) for a in agents], axis=0)
                actions = tf.concat([flat(data["actions"][a]) for a in agents], axis=0)
                log_probs = masked_log_softmax(outputs, masks)
                new_log_probs.append(tf.gather(log_probs, actions, batch_dims=1))
                entropies.append(categorical_entropy(log_probs))
            else:
                size = agent_spec.num_actions
                actions = tf.concat([tf.reshape(data["actions"][a], (-1, size)) for a in agents], axis=0)
                log_std = tf.clip_by_value(self.networks.log_stds[key], c.min_log_std, c.max_log_std)
                new_log_probs.append(gaussian_log_prob(outputs, log_std, actions))
                entropies.append(tf.broadcast_to(gaussian_entropy(log_std), tf.shape(actions)[:1]))
            old_log_probs.append(tf.reshape(stack("log_probs"), [-1]))
            advantages.append(tf.reshape(key_advantages, [-1]))
            returns.append(tf.reshape(key_returns, [-1]))
            new_values.append(tf.reshape(values, [-1]))
            old_values.append(tf.reshape(behaviour_values, [-1]))

        new_log_probs, old_log_probs = tf.concat(new_log_probs, 0), tf.concat(old_log_probs, 0)
        advantages = tf.stop_gradient(tf.concat(advantages, 0))
        returns = tf.stop_gradient(tf.concat(returns, 0))
        new_values, old_values = tf.concat(new_values, 0), tf.concat(old_values, 0)
        entropy = tf.reduce_mean(tf.concat(entropies, 0))
        raw_advantages = advantages
        if c.normalise_advantages:
            mean, variance = tf.nn.moments(advantages, axes=[0])
            advantages = (advantages - mean) / (tf.sqrt(variance) + 1e-8)

        log_ratio = new_log_probs - old_log_probs
        ratio = tf.exp(log_ratio)
        clipped_ratio = tf.clip_by_value(ratio, 1.0 - c.clip_epsilon, 1.0 + c.clip_epsilon)
        surrogate = tf.minimum(ratio * advantages, clipped_ratio * advantages)

        value_errors = tf.square(new_values - returns)
        if c.value_clip > 0:
            clipped_values = old_values + tf.clip_by_value(new_values - old_values, -c.value_clip, c.value_clip)
            value_errors = tf.maximum(value_errors, tf.square(clipped_values - returns))

        return {
            "policy_loss": -tf.reduce_mean(surrogate),
            "entropy_loss": -c.entropy_coefficient * entropy,
            "value_loss": 0.5 * tf.reduce_mean(value_errors),
            "_entropy": entropy,
            "_approx_kl": tf.reduce_mean((ratio - 1.0) - log_ratio),
            "_clip_fraction": tf.reduce_mean(tf.cast(tf.abs(ratio - 1.0) > c.clip_epsilon, tf.float32)),
            "_mean_advantage": tf.reduce_mean(raw_advantages),
            "_mean_value": tf.reduce_mean(new_values),
            "_mean_return": tf.reduce_mean(returns),
        }
