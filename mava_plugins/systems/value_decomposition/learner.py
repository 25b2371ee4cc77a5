"""The value-decomposition learner: mixed chosen-action Q-values regressed on n-step team targets."""
from __future__ import annotations

from typing import Any, Dict

from mava_core.trainer import Learner
from mava_plugins.components.q_learning import group_q_values, make_target_update, per_agent_columns, td_loss


class ValueDecompositionLearner(Learner):
    """Trains agents' Q-networks and the mixer together on ``Q_tot``'s TD error.

    ``Q_tot = mixer([Q_i(o_i, a_i)], s)``; the target is
    ``r_team + d_team * target_mixer([Q_i^target(o_i', a_i*)], s')`` with ``a_i*`` each agent's
    greedy legal next action (chosen by the online network with ``double_q``). Target Q-networks
    and the target mixer are refreshed together (``TargetUpdate``).
    """

    def __init__(self, networks: Any, config: Any, dataset: Any, client: Any):
        import sonnet as snt

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
        reduce = tf.reduce_sum if self.config.team_reward == "sum" else tf.reduce_mean
        return reduce(rewards, axis=1), tf.reduce_max(discounts, axis=1)

    def losses(self, batch: Any) -> Dict[str, Any]:
        import tensorflow as tf

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

    def after_update(self, step) -> None:
        self._target_update(step)

    def after_step(self, batch: Any, outputs: Dict[str, Any]) -> None:
        if self.dataset.config.prioritised:
            self.dataset.update_priorities(self.client, batch.info.key, outputs["_priorities"])
