"""MADQN's learner: double-Q n-step targets per agent, Huber loss, target-network refresh."""
from __future__ import annotations

from typing import Any, Dict, List

from mava_core.trainer import Learner
from mava_plugins.components.target_update import TargetUpdate
from mava_plugins.components.value_policy import masked_argmax


def stack_agents(per_agent: Dict[str, Any], agents: List[str]):
    """Concatenate the agents' batches along the batch axis: [B * len(agents), ...]."""
    import tensorflow as tf

    return tf.concat([per_agent[a] for a in agents], axis=0)


class MADQNLearner(Learner):
    def __init__(self, networks: Any, config: Any, dataset: Any, client: Any):
        import sonnet as snt

        self.networks = networks
        self.config = config
        self.dataset = dataset
        self.client = client
        self.optimizer = snt.optimizers.Adam(config.learning_rate)
        online = [v for key in networks.groups for v in networks.online[key].variables]
        target = [v for key in networks.groups for v in networks.target[key].variables]
        if config.target_update_period > 0:
            self._target_update = TargetUpdate(online, target, period=config.target_update_period)
        else:
            self._target_update = TargetUpdate(online, target, tau=config.target_tau or 0.005)
        self._variables = [v for key in networks.groups for v in networks.online[key].trainable_variables]

    def trainable_variables(self):
        return self._variables

    def policy_variables(self):
        return {key: list(network.variables) for key, network in self.networks.online.items()}

    def losses(self, batch: Any) -> Dict[str, Any]:
        import tensorflow as tf

        data = batch.data
        td_errors_per_key, mean_q = [], []
        for key, agents in self.networks.groups.items():
            online, target = self.networks.online[key], self.networks.target[key]
            observations = stack_agents(data["observations"], agents)
            actions = stack_agents(data["actions"], agents)
            rewards = stack_agents(data["rewards"], agents)
            discounts = stack_agents(data["discounts"], agents)
            next_observations = stack_agents(data["next_observations"], agents)
            next_masks = stack_agents(data["next_masks"], agents)

            q_values = online(observations)
            chosen = tf.gather(q_values, actions, batch_dims=1)
            mean_q.append(tf.reduce_mean(chosen))
            next_target_q = target(next_observations)
            selector = online(next_observations) if self.config.double_q else next_target_q
            next_actions = masked_argmax(selector, next_masks)
            bootstrap = tf.gather(next_target_q, next_actions, batch_dims=1)
            targets = tf.stop_gradient(rewards + discounts * bootstrap)
            td_errors_per_key.append(tf.reshape(targets - chosen, (len(agents), -1)))  # [agents, B]
        td_errors = tf.concat(td_errors_per_key, axis=0)  # [all agents, B]
        if self.config.huber_delta > 0:
            delta = self.config.huber_delta
            abs_errors = tf.abs(td_errors)
            quadratic = tf.minimum(abs_errors, delta)
            per_sample = 0.5 * quadratic**2 + delta * (abs_errors - quadratic)
        else:
            per_sample = 0.5 * td_errors**2
        per_transition = tf.reduce_mean(per_sample, axis=0)  # mean over agents: [B]
        if self.dataset.config.prioritised:
            weights = self.dataset.importance_weights(batch.info.probability, batch.info.table_size)
            per_transition = per_transition * tf.cast(weights, tf.float32)
        return {
            "q_loss": tf.reduce_mean(per_transition),
            "_priorities": tf.reduce_mean(tf.abs(td_errors), axis=0),
            "_mean_q": tf.add_n(mean_q) / len(mean_q),
        }

    def after_update(self, step) -> None:
        self._target_update(step)

    def after_step(self, batch: Any, outputs: Dict[str, Any]) -> None:
        if self.dataset.config.prioritised:
            self.dataset.update_priorities(self.client, batch.info.key, outputs["_priorities"])
