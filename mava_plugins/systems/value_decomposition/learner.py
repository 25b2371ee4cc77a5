"""The value-decomposition learner: MADQN's update with the agents' values mixed into a team value.

:class:`ValueDecompositionLearner` is :class:`~mava_plugins.components.q_learner.QLearner`
(the whole Q-learning update) plus the mixing: it overrides :meth:`mix`, and adds the online
and target mixers to the trained and the refreshed variables. With a recurrent network
(``network=gru``) the mixer mixes the agents' values at every trained step of a sequence with
the global state at that step.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from mava_plugins.components.q_learner import AgentValues, QLearner, QLearnerSettings
from mava_plugins.components.q_learning import QNetworks


class ValueDecompositionLearner(QLearner):
    """Trains agents' Q-networks and the mixer together on ``Q_tot``'s TD error.

    ``Q_tot = mixer([Q_i(o_i, a_i)], s)``; the target is
    ``r_team + d_team * target_mixer([Q_i^target(o_i', a_i*)], s')`` with ``a_i*`` each agent's
    greedy legal next action (chosen by the online network with ``double_q``). The team
    reward is the agents' mean (``team_reward="mean"``) or sum (``"sum"``); the team discount
    is the largest of the agents' (gamma included). Target Q-networks and the target mixer are
    refreshed together.
    """

    def __init__(self, networks: Any, settings: QLearnerSettings, dataset: Any, client: Any, team_reward: str,
                 recurrent: bool = False):
        self.team_reward = team_reward
        super().__init__(networks, settings, dataset, client, recurrent=recurrent)

    @property
    def q(self) -> QNetworks:
        return self.networks.q

    @property
    def agents(self) -> List[str]:
        """The agents in the mixer's input order (the environment's)."""
        return self.networks.agents

    def online_and_target_variables(self) -> Tuple[List[Any], List[Any]]:
        online, target = super().online_and_target_variables()
        return online + list(self.networks.mixer.variables), target + list(self.networks.target_mixer.variables)

    def variables_to_train(self) -> List[Any]:
        return super().variables_to_train() + list(self.networks.mixer.trainable_variables)

    def team(self, rewards, discounts):
        """Team reward and discount from per-agent values on the last axis (``[..., N] -> [...]``)."""
        import tensorflow as tf

        reduce = tf.reduce_sum if self.team_reward == "sum" else tf.reduce_mean
        return reduce(rewards, axis=-1), tf.reduce_max(discounts, axis=-1)

    def mix(self, values: AgentValues) -> AgentValues:
        """One team value per item: ``Q_tot`` of the chosen actions, the target mixer's bootstrap, team reward and discount."""
        import tensorflow as tf

        leading = tf.shape(values.chosen)[:-1]  # [B] or [T', B]
        items = tf.reduce_prod(leading)

        def mixed(mixer, agent_qs, state):
            flat_state = None if state is None else tf.reshape(state, (items, -1))
            return tf.reshape(mixer(tf.reshape(agent_qs, (items, len(self.agents))), flat_state), leading)

        q_total = mixed(self.networks.mixer, values.chosen, values.state)
        next_q_total = mixed(self.networks.target_mixer, values.bootstrap, values.next_state)
        rewards, discounts = self.team(values.rewards, values.discounts)
        team = (q_total, next_q_total, rewards, discounts)
        chosen, bootstrap, rewards, discounts = (value[..., None] for value in team)  # a last axis of one team value
        return AgentValues(chosen, bootstrap, rewards, discounts, values.mask, values.state, values.next_state)

    def summaries(self, values: AgentValues, mixed: AgentValues) -> Dict[str, Any]:
        outputs = super().summaries(values, mixed)
        outputs["_mean_q_total"] = self.batch_mean(mixed.chosen[..., 0], values.mask)
        return outputs
