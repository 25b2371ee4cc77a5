"""The Q-learning update of MADQN, VDN and QMIX, top to bottom in one class.

:class:`QLearner` is MADQN's learner (independent Q-learners: every agent regresses its own
Q-value of the action it took on its own n-step target) and the base of the value
decomposition learner, which overrides :meth:`QLearner.mix` alone. One training step:

1. **Per-agent values** of the batch, ``[..., N]`` with a column per agent:

   * transitions (feedforward networks): the online network's Q-value of the taken action and
     the bootstrap value of the next observation: the target network's Q-value of the greedy
     legal next action, picked by the online network with ``double_q``
     (:func:`~mava_plugins.components.q_learning.group_q_values`);
   * sequences (recurrent networks, ``dataset=sequence_replay``): the same at every trained
     step of each sequence, from unrolls that start at the stored recurrent state and burn in
     for ``burn_in`` steps (:func:`~mava_plugins.components.q_learning.sequence_q_values`).

2. **Mixing** (:meth:`QLearner.mix`): nothing here; VDN and QMIX mix the agents' values into
   one team value per item.
3. **TD errors**: ``target = rewards + discounts * bootstrap`` (gradient stopped) minus the
   chosen Q-value. ``discounts`` already include the discount factor ``gamma``: the datasets
   apply it (the n-step adder folds it into its returns and discount products; sequence
   replay's iterator multiplies the stored environment discounts by it), so no learner does.
4. **Loss**: Huber (or squared) per TD error, averaged over agents, weighted by importance
   sampling under prioritised replay, averaged over the batch (and over the valid steps of
   sequences).
5. **Priorities** for prioritised replay: the mean ``|TD error|`` over agents (R2D2's mix of
   max and mean over a sequence's steps); written back after the step (:meth:`after_step`).
6. **Target networks** are refreshed after every update (:meth:`after_update`).

Settings come in explicitly as a :class:`QLearnerSettings`; the dataset component is passed
in for its replay settings (``prioritised``; for sequences ``burn_in`` and ``priority_eta``),
its importance weights and its priority updates.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from mava_core.trainer import Learner
from mava_plugins.components.q_learning import (
    QNetworks,
    group_q_values,
    make_target_update,
    masked_sequence_loss,
    per_agent_columns,
    sequence_priorities,
    sequence_q_values,
    td_loss,
)


@dataclasses.dataclass(frozen=True)
class QLearnerSettings:
    """The settings a Q-learner uses (all of them; it never reads the system config)."""

    learning_rate: float
    double_q: bool
    huber_delta: float
    target_update_period: int
    target_tau: float

    @classmethod
    def from_config(cls, config: Any) -> "QLearnerSettings":
        """The learner's settings out of a ``QLearningConfig`` (or any config with these fields)."""
        return cls(
            learning_rate=config.learning_rate,
            double_q=config.double_q,
            huber_delta=config.huber_delta,
            target_update_period=config.target_update_period,
            target_tau=config.target_tau,
        )


class AgentValues(NamedTuple):
    """What a TD error is made of, with a last axis of agents ``[..., N]`` (or of one team value ``[..., 1]``).

    Transitions have a leading ``[B]``; sequences ``[T', B]`` (the trained steps).
    """

    chosen: Any  # online Q-value of the taken action
    bootstrap: Any  # target value of the next observation (greedy legal action)
    rewards: Any  # n-step rewards
    discounts: Any  # discount products, gamma included
    mask: Any  # None for transitions; [T', B] for sequences: 1 where the step was really taken
    state: Any  # the global state at the step ([B, ...] or [T', B, ...]), or None
    next_state: Any  # the global state at the next step, or None


def agent_columns(per_agent: Dict[str, Any], agents: List[str]):
    """``{agent: [B]}`` as ``[B, N]`` in the order of ``agents``."""
    import tensorflow as tf

    return tf.stack([per_agent[a] for a in agents], axis=1)


class QLearner(Learner):
    """Deep Q-learning for every agent (MADQN); subclasses mix the agents' values (:meth:`mix`)."""

    def __init__(self, networks: Any, settings: QLearnerSettings, dataset: Any, client: Any, recurrent: bool = False):
        import sonnet as snt

        # attribute order is the order of the variables in a checkpoint (see Learner.state_variables)
        self.recurrent = recurrent
        self.networks = networks
        self.settings = settings
        self.dataset = dataset
        self.client = client
        self.optimizer = snt.optimizers.Adam(settings.learning_rate)
        online, target = self.online_and_target_variables()
        self._target_update = make_target_update(online, target, settings)
        self._variables = self.variables_to_train()

    # ------------------------------------------------------------------ networks
    @property
    def q(self) -> QNetworks:
        """The agents' online and target Q-networks."""
        return self.networks

    @property
    def agents(self) -> List[str]:
        """The agents in column order (here: group by group)."""
        return [agent for group in self.q.groups.values() for agent in group]

    def online_and_target_variables(self) -> Tuple[List[Any], List[Any]]:
        """The variables the target refresh copies from (online) and into (target), in matching order."""
        return self.q.online_variables(), self.q.target_variables()

    def variables_to_train(self) -> List[Any]:
        return self.q.trainable_variables()

    def trainable_variables(self):
        return self._variables

    def policy_variables(self):
        return self.q.policy_variables()

    # -------------------------------------------------------------------- update
    def losses(self, batch: Any) -> Dict[str, Any]:
        values = self.sequence_values(batch.data) if self.recurrent else self.transition_values(batch.data)
        mixed = self.mix(values)
        return self.td_losses(values, mixed, self.importance_weights(batch))

    def transition_values(self, data: Dict[str, Any]) -> AgentValues:
        """Per-agent values of a batch of n-step transitions: ``[B, N]``."""
        agents = self.agents
        groups = group_q_values(self.q, data, self.settings.double_q)
        return AgentValues(
            chosen=per_agent_columns(groups, "chosen", agents),
            bootstrap=per_agent_columns(groups, "bootstrap", agents),
            rewards=agent_columns(data["rewards"], agents),
            discounts=agent_columns(data["discounts"], agents),
            mask=None,
            state=data.get("state"),
            next_state=data.get("next_state"),
        )

    def sequence_values(self, data: Dict[str, Any]) -> AgentValues:
        """Per-agent values at the trained steps of a batch of sequences: ``[T', B, N]``."""
        values = sequence_q_values(self.q, data, self.agents, self.settings.double_q, self.dataset.config.burn_in)
        return AgentValues(
            values.chosen, values.bootstrap, values.rewards, values.discounts, values.mask, values.state, values.next_state
        )

    def mix(self, values: AgentValues) -> AgentValues:
        """The values the TD errors are made of. Independent learners: every agent's own."""
        return values

    @staticmethod
    def td_errors(mixed: AgentValues):
        """``rewards + discounts * bootstrap - chosen``, the target's gradient stopped (``discounts`` include gamma)."""
        import tensorflow as tf

        targets = tf.stop_gradient(mixed.rewards + mixed.discounts * mixed.bootstrap)
        return targets - mixed.chosen

    def td_losses(self, values: AgentValues, mixed: AgentValues, weights: Optional[Any]) -> Dict[str, Any]:
        """The loss, the priorities and summaries from the (mixed) values."""
        import tensorflow as tf

        td_errors = self.td_errors(mixed)  # [..., N] (or [..., 1] when mixed)
        per_item = tf.reduce_mean(td_loss(td_errors, self.settings.huber_delta), axis=-1)  # mean over agents
        abs_errors = tf.reduce_mean(tf.abs(td_errors), axis=-1)
        if values.mask is None:  # transitions: [B]
            if weights is not None:
                per_item = per_item * weights
            loss, priorities = tf.reduce_mean(per_item), abs_errors
        else:  # sequences: [T', B], only the valid steps count
            loss = masked_sequence_loss(per_item, values.mask, weights)
            priorities = sequence_priorities(abs_errors, values.mask, self.dataset.config.priority_eta)
        outputs = {"q_loss": loss, "_priorities": priorities}
        outputs.update(self.summaries(values, mixed))
        return outputs

    def summaries(self, values: AgentValues, mixed: AgentValues) -> Dict[str, Any]:
        """Non-loss outputs (``_name``: reported as ``name``): the mean chosen Q-value."""
        import tensorflow as tf

        return {"_mean_q": self.batch_mean(tf.reduce_mean(values.chosen, axis=-1), values.mask)}

    @staticmethod
    def batch_mean(per_item, mask):
        """Mean over a batch of transitions ``[B]``, or over the valid steps of sequences ``[T', B]``."""
        import tensorflow as tf

        return tf.reduce_mean(per_item) if mask is None else masked_sequence_loss(per_item, mask)

    # ------------------------------------------------------- prioritised replay
    def importance_weights(self, batch: Any) -> Optional[Any]:
        """Importance-sampling weights ``[B]`` of a prioritised batch, or None under uniform replay."""
        import tensorflow as tf

        if not self.dataset.config.prioritised:
            return None
        return tf.cast(self.dataset.importance_weights(batch.info.probability, batch.info.table_size), tf.float32)

    def after_update(self, step) -> None:
        self._target_update(step)

    def after_step(self, batch: Any, outputs: Dict[str, Any]) -> None:
        if self.dataset.config.prioritised:
            self.dataset.update_priorities(self.client, batch.info.key, outputs["_priorities"])
