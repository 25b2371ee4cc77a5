"""MADQN's learner: double-Q n-step targets per agent, Huber loss, target-network refresh.

With a recurrent network (``network=gru``) it trains on stored sequences instead: online and
target networks unroll from the stored recurrent state, the first ``burn_in`` steps only
advance it, and padding and post-episode steps are masked out of the loss.
"""
from __future__ import annotations

from typing import Any, Dict

from mava_core.trainer import Learner
from mava_plugins.components.q_learning import (
    QNetworks,
    group_q_values,
    make_target_update,
    masked_sequence_loss,
    sequence_priorities,
    sequence_q_values,
    stack_agents,
    td_loss,
)


class MADQNLearner(Learner):
    """Independent Q-learning: every agent regresses its own Q-value on its own n-step target."""

    def __init__(self, networks: QNetworks, config: Any, dataset: Any, client: Any, recurrent: bool = False):
        import sonnet as snt

        self.recurrent = recurrent
        self.networks = networks
        self.config = config
        self.dataset = dataset
        self.client = client
        self.optimizer = snt.optimizers.Adam(config.learning_rate)
        self._target_update = make_target_update(networks.online_variables(), networks.target_variables(), config)
        self._variables = networks.trainable_variables()

    def trainable_variables(self):
        return self._variables

    def policy_variables(self):
        return self.networks.policy_variables()

    def losses(self, batch: Any) -> Dict[str, Any]:
        import tensorflow as tf

        if self.recurrent:
            return self.sequence_losses(batch)
        data = batch.data
        td_errors_per_key, mean_q = [], []
        for group in group_q_values(self.networks, data, self.config.double_q):
            rewards = stack_agents(data["rewards"], group.agents)
            discounts = stack_agents(data["discounts"], group.agents)
            mean_q.append(tf.reduce_mean(group.chosen))
            targets = tf.stop_gradient(rewards + discounts * group.bootstrap)
            td_errors_per_key.append(tf.reshape(targets - group.chosen, (len(group.agents), -1)))  # [agents, B]
        td_errors = tf.concat(td_errors_per_key, axis=0)  # [all agents, B]
        per_transition = tf.reduce_mean(td_loss(td_errors, self.config.huber_delta), axis=0)  # mean over agents: [B]
        if self.dataset.config.prioritised:
            weights = self.dataset.importance_weights(batch.info.probability, batch.info.table_size)
            per_transition = per_transition * tf.cast(weights, tf.float32)
        return {
            "q_loss": tf.reduce_mean(per_transition),
            "_priorities": tf.reduce_mean(tf.abs(td_errors), axis=0),
            "_mean_q": tf.add_n(mean_q) / len(mean_q),
        }

    def sequence_losses(self, batch: Any) -> Dict[str, Any]:
        """Every agent's TD loss over the valid trained steps of a batch of sequences."""
        import tensorflow as tf

        c, dataset = self.config, self.dataset.config
        values = sequence_q_values(self.networks, batch.data, self.agents, c.double_q, dataset.burn_in)
        targets = tf.stop_gradient(values.rewards + c.discount * values.discounts * values.bootstrap)
        td_errors = targets - values.chosen  # [T', B, N]
        per_step = tf.reduce_mean(td_loss(td_errors, c.huber_delta), axis=-1)  # mean over agents: [T', B]
        weights = None
        if dataset.prioritised:
            weights = self.dataset.importance_weights(batch.info.probability, batch.info.table_size)
        return {
            "q_loss": masked_sequence_loss(per_step, values.mask, weights),
            "_priorities": sequence_priorities(tf.reduce_mean(tf.abs(td_errors), axis=-1), values.mask, dataset.priority_eta),
            "_mean_q": masked_sequence_loss(tf.reduce_mean(values.chosen, axis=-1), values.mask),
        }

    @property
    def agents(self):
        return [agent for group in self.networks.groups.values() for agent in group]

    def after_update(self, step) -> None:
        self._target_update(step)

    def after_step(self, batch: Any, outputs: Dict[str, Any]) -> None:
        if self.dataset.config.prioritised:
            self.dataset.update_priorities(self.client, batch.info.key, outputs["_priorities"])
