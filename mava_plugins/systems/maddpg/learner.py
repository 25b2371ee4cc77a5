"""The deterministic-policy-gradient learner shared by MADDPG and MAD4PG.

For a batch of (n-step) transitions it computes

* ``critic_loss``: each agent's critic, fed by the architecture's ``critic_inputs`` with the
  replayed actions, regresses on the target built from the target critic at the next
  observations and the target actors' greedy actions there; the critic head (scalar or
  categorical) defines the target and the loss;
* ``policy_loss``: minus each agent's critic value when that agent's action is replaced by its
  actor's (relaxed, for discrete agents) action and the others keep their replayed actions
  (Lowe et al. 2017);
* ``policy_regularisation``: the mean squared actor outputs (pre-``tanh`` activations or
  logits), which keeps ``tanh`` out of saturation and logits bounded.

The policy terms form the ``policy`` optimisation group over the actors' variables only and
the critic terms the ``critic`` group over the critics' variables, each with its own Adam
optimiser and learning rate; the gradient of the policy loss never reaches the critics.
Target actors and critics follow the online ones by Polyak averaging or periodic copies.
"""
from __future__ import annotations

from typing import Any, Dict, List

from mava_core.trainer import Learner, OptimisationGroup
from mava_plugins.components.target_update import TargetUpdate
from mava_plugins.systems.maddpg.policy import (
    ActionSpace,
    greedy_action_vectors,
    relaxed_action_vectors,
    replayed_action_vectors,
)

POLICY_LOSSES = ("policy_loss", "policy_regularisation")


class DPGLearner(Learner):
    """Actor-critic learner with deterministic (or relaxed discrete) actors and a pluggable critic head."""

    def __init__(self, networks: Any, config: Any, spec: Any, architecture: Any, head: Any, dataset: Any, client: Any):
        import sonnet as snt

        self.networks = networks
        self.config = config
        self.spec = spec
        self.architecture = architecture
        self.head = head
        self.dataset = dataset
        self.client = client
        self.spaces = {agent: ActionSpace.from_spec(agent_spec) for agent, agent_spec in spec.agents.items()}
        self.policy_optimizer = snt.optimizers.Adam(config.policy_learning_rate)
        self.critic_optimizer = snt.optimizers.Adam(config.critic_learning_rate)
        self.optimizer = self.critic_optimizer
        self._policy_variables = [v for key in networks.policy_groups for v in networks.policy[key].trainable_variables]
        self._critic_variables = [v for key in networks.critic_groups for v in networks.critic[key].trainable_variables]
        online = [v for key in networks.policy_groups for v in networks.policy[key].variables]
        online += [v for key in networks.critic_groups for v in networks.critic[key].variables]
        target = [v for key in networks.policy_groups for v in networks.target_policy[key].variables]
        target += [v for key in networks.critic_groups for v in networks.target_critic[key].variables]
        if config.target_update_period > 0:
            self._target_update = TargetUpdate(online, target, period=config.target_update_period)
        else:
            self._target_update = TargetUpdate(online, target, tau=config.target_tau)

    # ---------------------------------------------------------------- variables
    def trainable_variables(self) -> List[Any]:
        return self._policy_variables + self._critic_variables

    def optimisation_groups(self) -> List[OptimisationGroup]:
        return [
            OptimisationGroup("policy", list(self._policy_variables), self.policy_optimizer, POLICY_LOSSES),
            # catch-all: the critic loss and any extra term a mava_trainer_loss hook adds
            OptimisationGroup("critic", list(self._critic_variables), self.critic_optimizer, None),
        ]

    def policy_variables(self) -> Dict[str, List[Any]]:
        return {key: list(network.variables) for key, network in self.networks.policy.items()}

    # ------------------------------------------------------------------- losses
    def _actor_outputs(self, actors: Dict[str, Any], observations: Dict[str, Any]) -> Dict[str, Any]:
        """Per-agent actor outputs, each actor run once on its agents' stacked observations."""
        import tensorflow as tf

        outputs = {}
        for key, agents in self.networks.policy_groups.items():
            stacked = tf.concat([tf.cast(observations[a], tf.float32) for a in agents], axis=0)
            for agent, part in zip(agents, tf.split(actors[key](stacked), len(agents), axis=0)):
                outputs[agent] = part
        return outputs

    def _critic_batch(self, agents: List[str], observations: Any, actions: Any, state: Any):
        """The critic inputs of ``agents``, stacked along the batch axis: ``[len(agents) * B, D]``."""
        import tensorflow as tf

        arch, spec = self.architecture, self.spec
        return tf.concat([arch.critic_inputs(spec, a, observations, actions, state) for a in agents], axis=0)

    def _own_action_inputs(self, agents: List[str], observations: Any, own: Any, replayed: Any, state: Any):
        """Critic inputs of ``agents`` (stacked) where each agent's action is its ``own`` and the
        others' are as ``replayed``."""
        import tensorflow as tf

        arch, spec = self.architecture, self.spec
        return tf.concat([arch.critic_inputs(spec, a, observations, {**replayed, a: own[a]}, state) for a in agents], axis=0)

    def losses(self, batch: Any) -> Dict[str, Any]:
        import tensorflow as tf

        data = batch.data
        observations, next_observations = data["observations"], data["next_observations"]
        masks, next_masks = data["masks"], data["next_masks"]
        state, next_state = data.get("state"), data.get("next_state")
        spaces = self.spaces

        online_outputs = self._actor_outputs(self.networks.policy, observations)
        target_outputs = self._actor_outputs(self.networks.target_policy, next_observations)
        replayed = {a: replayed_action_vectors(spaces[a], data["actions"][a]) for a in spaces}
        next_actions = {a: greedy_action_vectors(spaces[a], target_outputs[a], next_masks[a]) for a in spaces}
        temperature = self.config.gumbel_temperature
        straight_through = self.config.gumbel_straight_through
        relaxed = {
            a: relaxed_action_vectors(spaces[a], online_outputs[a], masks[a], temperature, straight_through)
            for a in spaces
        }
        greedy = {a: greedy_action_vectors(spaces[a], online_outputs[a], masks[a]) for a in spaces}

        critic_losses, priorities, policy_values, greedy_values, q_values = [], [], [], [], []
        for key, agents in self.networks.critic_groups.items():
            critic, target_critic = self.networks.critic[key], self.networks.target_critic[key]
            rewards = tf.concat([data["rewards"][a] for a in agents], axis=0)
            discounts = tf.concat([data["discounts"][a] for a in agents], axis=0)
            outputs = critic(self._critic_batch(agents, observations, replayed, state))
            next_outputs = target_critic(self._critic_batch(agents, next_observations, next_actions, next_state))
            per_sample, priority = self.head.loss(outputs, rewards, discounts, next_outputs)
            critic_losses.append(tf.reshape(per_sample, (len(agents), -1)))  # [agents, B]
            priorities.append(tf.reshape(priority, (len(agents), -1)))
            q_values.append(self.head.value(outputs))
            # each agent's own action from its actor, the other agents' actions as replayed
            policy_inputs = self._own_action_inputs(agents, observations, relaxed, replayed, state)
            policy_values.append(self.head.value(critic(policy_inputs)))
            # the critic at the actions the executors take (argmax): far below the policy value,
            # the actors are climbing the critic where no executor acts
            greedy_inputs = self._own_action_inputs(agents, observations, greedy, replayed, state)
            greedy_values.append(tf.stop_gradient(self.head.value(critic(greedy_inputs))))

        per_transition = tf.reduce_mean(tf.concat(critic_losses, axis=0), axis=0)  # mean over agents: [B]
        if self.dataset.config.prioritised:
            weights = self.dataset.importance_weights(batch.info.probability, batch.info.table_size)
            per_transition = per_transition * tf.cast(weights, tf.float32)
        squared_outputs = [tf.reduce_mean(tf.square(output)) for output in online_outputs.values()]
        return {
            "critic_loss": tf.reduce_mean(per_transition),
            "policy_loss": -tf.reduce_mean(tf.concat(policy_values, axis=0)),
            "policy_regularisation": self.config.policy_regularisation * tf.add_n(squared_outputs) / len(squared_outputs),
            "_priorities": tf.reduce_mean(tf.concat(priorities, axis=0), axis=0),
            "_mean_q": tf.reduce_mean(tf.concat(q_values, axis=0)),
            "_greedy_policy_value": tf.reduce_mean(tf.concat(greedy_values, axis=0)),
        }

    def after_update(self, step) -> None:
        self._target_update(step)

    def after_step(self, batch: Any, outputs: Dict[str, Any]) -> None:
        if self.dataset.config.prioritised:
            self.dataset.update_priorities(self.client, batch.info.key, outputs["_priorities"])
