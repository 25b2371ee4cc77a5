"""The value-decomposition learner: mixed chosen-action Q-values regressed on n-step team targets.

With a recurrent network (``network=gru``) it trains on stored sequences: the agents' Q-values
come from unrolls from the stored recurrent state (``burn_in`` steps only advance it), and
the mixer mixes them at every trained step with the global state at that step.
"""
from __future__ import annotations

from typing import Any, Dict

from mava_core.trainer import Learner
from mava_plugins.components.q_learning import (
    group_q_values,
    make_target_update,
    masked_sequence_loss,
    per_agent_columns,
    sequence_priorities,
    sequence_q_values,
    td_loss,
)


class ValueDecompositionLearner(Learner):
    """Trains agents' Q-networks and the mixer together on ``Q_tot``'s TD error.

    ``Q_tot = mixer([Q_i(o_i, a_i)], s)``; the target is
    ``r_team + d_team * target_mixer([Q_i^target(o_i', a_i*)], s')`` with ``a_i*`` each agent's
    greedy legal next action (chosen by the online network with ``double_q``). Target Q-networks
    and the target mixer are refreshed together (``TargetUpdate``).
    """

    def __init__(self, networks: Any, config: Any, dataset: Any, client: Any, recurrent: bool = False):
        import sonnet as snt

        self.recurrent = recurrent
        self.networks = networks
        self.config = config
        self.dataset = dataset
        self.client = client
        self.optimizer = snt.optimizers.Adam(config.learning_rate)
        q = networks.q
        online = q.online_variables() + list(networks.mixer.variables)
        target = q.target_variables() + list(networks.target_mixer.variables)
        self._target_update = make_target_update(online, target, config)
        self._variables = q.trainable_variables() + list(networks.mixer.trainable_variables)

    def trainable_variables(self):
        return self._variables

    def policy_variables(self):
        return self.networks.q.policy_variables()

    def team_reward_and_discount(self, data: Dict[str, Any]):
        """``[B]`` team reward (mean or sum of the agents') and team discount (max of the agents')."""
        import tensorflow as tf

        agents = self.networks.agents
        rewards = tf.stack([data["rewards"][a] for a in agents], axis=1)  # [B, N]
        discounts = tf.stack([data["discounts"][a] for a in agents], axis=1)
        return self.team(rewards, discounts)

    def team(self, rewards, discounts):
        """Team reward and discount from per-agent values on the last axis (``[..., N] -> [...]``)."""
        import tensorflow as tf

        reduce = tf.reduce_sum if self.config.team_reward == "sum" else tf.reduce_mean
        return reduce(rewards, axis=-1), tf.reduce_max(discounts, axis=-1)

    def losses(self, batch: Any) -> Dict[str, Any]:
        import tensorflow as tf

        if self.recurrent:
            return self.sequence_losses(batch)
        data = batch.data
        agents = self.networks.agents
        groups = group_q_values(self.networks.q, data, self.config.double_q)
        chosen = per_agent_columns(groups, "chosen", agents)  # [B, N]
        bootstrap = per_agent_columns(groups, "bootstrap", agents)  # [B, N]
        q_total = self.networks.mixer(chosen, data.get("state"))  # [B]
        next_q_total = self.networks.target_mixer(bootstrap, data.get("next_state"))
        rewards, discounts = self.team_reward_and_discount(data)
        targets = tf.stop_gradient(rewards + discounts * next_q_total)
        td_errors = targets - q_total
        per_transition = td_loss(td_errors, self.config.huber_delta)
        if self.dataset.config.prioritised:
            weights = self.dataset.importance_weights(batch.info.probability, batch.info.table_size)
            per_transition = per_transition * tf.cast(weights, tf.float32)
        return {
            "q_loss": tf.reduce_mean(per_transition),
            "_priorities": tf.abs(td_errors),
            "_mean_q": tf.reduce_mean(chosen),
            "_mean_q_total": tf.reduce_mean(q_total),
        }

    def sequence_losses(self, batch: Any) -> Dict[str, Any]:
        """``Q_tot``'s TD loss at every valid trained step of a batch of sequences."""
        import tensorflow as tf

        c, dataset = self.config, self.dataset.config
        agents = self.networks.agents
        values = sequence_q_values(self.networks.q, batch.data, agents, c.double_q, dataset.burn_in)
        steps, size = tf.shape(values.chosen)[0], tf.shape(values.chosen)[1]

        def mix(mixer, agent_qs, state):
            flat_state = None if state is None else tf.reshape(state, (steps * size, -1))
            return tf.reshape(mixer(tf.reshape(agent_qs, (steps * size, len(agents))), flat_state), (steps, size))

        q_total = mix(self.networks.mixer, values.chosen, values.state)  # [T', B]
        next_q_total = mix(self.networks.target_mixer, values.bootstrap, values.next_state)
        rewards, discounts = self.team(values.rewards, values.discounts)
        targets = tf.stop_gradient(rewards + c.discount * discounts * next_q_total)
        td_errors = targets - q_total
        weights = None
        if dataset.prioritised:
            weights = self.dataset.importance_weights(batch.info.probability, batch.info.table_size)
        return {
            "q_loss": masked_sequence_loss(td_loss(td_errors, c.huber_delta), values.mask, weights),
            "_priorities": sequence_priorities(tf.abs(td_errors), values.mask, dataset.priority_eta),
            "_mean_q": masked_sequence_loss(tf.reduce_mean(values.chosen, axis=-1), values.mask),
            "_mean_q_total": masked_sequence_loss(q_total, values.mask),
        }

    def after_update(self, step) -> None:
        self._target_update(step)

    def after_step(self, batch: Any, outputs: Dict[str, Any]) -> None:
        if self.dataset.config.prioritised:
            self.dataset.update_priorities(self.client, batch.info.key, outputs["_priorities"])
