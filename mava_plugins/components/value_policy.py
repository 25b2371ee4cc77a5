"""Epsilon-greedy action selection over Q-values, batched across agents.

All agents that share a network are stacked into one batch, and every network is evaluated
in a single compiled call per environment step; exploration happens in numpy with a seeded
generator, so acting is reproducible under a seed.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

import numpy as np

MASKED_VALUE = -1e9


def masked_argmax(q_values, masks):
    """Greedy action among legal ones (``masks`` is 1 for legal actions)."""
    import tensorflow as tf

    return tf.argmax(q_values + (1.0 - masks) * MASKED_VALUE, axis=-1, output_type=tf.int32)


class EpsilonGreedyPolicy:
    """Acts greedily on Q-values with probability 1 - epsilon, else uniformly among legal actions."""

    def __init__(
        self,
        networks: Mapping[str, Any],
        groups: Mapping[str, List[str]],
        spec: Any,
        exploration: Any,
        evaluation: bool,
        seed: int,
        evaluation_epsilon: float = 0.0,
    ):
        import tensorflow as tf

        self._keys = list(groups)
        self._groups = {key: list(groups[key]) for key in self._keys}
        self._exploration = exploration
        self._evaluation = evaluation
        self._evaluation_epsilon = evaluation_epsilon
        self._rng = np.random.default_rng(seed)
        self.step = 0
        self.epsilon = evaluation_epsilon if evaluation else exploration.value(0)
        obs_specs, mask_specs = [], []
        for key in self._keys:
            first = spec.agents[self._groups[key][0]]
            obs_specs.append(tf.TensorSpec((None,) + tuple(first.observation.shape), tf.float32))
            mask_specs.append(tf.TensorSpec((None, first.num_actions), tf.float32))
        self._greedy = self._compile([networks[key] for key in self._keys], tuple(obs_specs), tuple(mask_specs))

    def _compile(self, ordered: List[Any], obs_specs: tuple, mask_specs: tuple) -> Any:
        """One compiled call computing every group's greedy legal actions."""
        import tensorflow as tf

        def greedy(observations, masks):
            return tuple(masked_argmax(net(obs), mask) for net, obs, mask in zip(ordered, observations, masks))

        return tf.function(greedy, input_signature=(obs_specs, mask_specs))

    def reset(self) -> None:
        """Feedforward policies keep no per-episode state."""

    def set_step(self, env_steps: int) -> None:
        self.step = env_steps
        if not self._evaluation:
            self.epsilon = self._exploration.value(env_steps)

    def _stack(self, observations: Mapping[str, Any]):
        """Each group's observations and legal-action masks stacked in agent order."""
        stacked_obs, stacked_masks = [], []
        for key in self._keys:
            agents = self._groups[key]
            stacked_obs.append(np.stack([observations[a].observation for a in agents]).astype(np.float32, copy=False))
            stacked_masks.append(np.stack([observations[a].action_mask for a in agents]).astype(np.float32, copy=False))
        return tuple(stacked_obs), tuple(stacked_masks)

    def _explore(self, greedy: Any, stacked_masks: tuple) -> Dict[str, np.int32]:
        """Per agent: its greedy action, or with probability epsilon a uniform legal one."""
        actions: Dict[str, np.int32] = {}
        rng, epsilon = self._rng, self.epsilon
        for key, key_actions, masks in zip(self._keys, greedy, stacked_masks):
            key_actions = np.asarray(key_actions)
            for index, agent in enumerate(self._groups[key]):
                if epsilon > 0 and rng.random() < epsilon:
                    legal = np.flatnonzero(masks[index] > 0)
                    actions[agent] = np.int32(rng.choice(legal) if legal.size else 0)
                else:
                    actions[agent] = np.int32(key_actions[index])
        return actions

    def select_actions(self, observations: Mapping[str, Any]) -> Dict[str, np.int32]:
        stacked_obs, stacked_masks = self._stack(observations)
        greedy = self._greedy(stacked_obs, stacked_masks)
        return self._explore([g.numpy() for g in greedy], stacked_masks)


class RecurrentEpsilonGreedyPolicy(EpsilonGreedyPolicy):
    """Epsilon-greedy over recurrent Q-networks: carries each agent's state across steps.

    ``reset()`` (at every episode start) sets every agent's state to zeros; each
    ``select_actions`` steps all networks in one compiled call and keeps the new states.
    ``extras()`` reports ``core_state``, each agent's state *before* its last action (the
    state that action was chosen from), which the sequence adder stores so the learner can
    start its unroll from it.
    """

    def _compile(self, ordered: List[Any], obs_specs: tuple, mask_specs: tuple) -> Any:
        import tensorflow as tf

        self._state_sizes = [int(net.state_size) for net in ordered]
        state_specs = tuple(tf.TensorSpec((None, size), tf.float32) for size in self._state_sizes)
        self.reset()

        def step(observations, masks, states):
            actions, new_states = [], []
            for net, obs, mask, state in zip(ordered, observations, masks, states):
                q_values, new_state = net(obs, state)
                actions.append(masked_argmax(q_values, mask))
                new_states.append(new_state)
            return tuple(actions), tuple(new_states)

        return tf.function(step, input_signature=(obs_specs, mask_specs, state_specs))

    def reset(self) -> None:
        """Start of an episode: every agent's state is zeros."""
        self._states = tuple(
            np.zeros((len(self._groups[key]), size), np.float32) for key, size in zip(self._keys, self._state_sizes)
        )
        self._acted_from = self._states

    def select_actions(self, observations: Mapping[str, Any]) -> Dict[str, np.int32]:
        stacked_obs, stacked_masks = self._stack(observations)
        greedy, new_states = self._greedy(stacked_obs, stacked_masks, self._states)
        self._acted_from = self._states
        self._states = tuple(state.numpy() for state in new_states)
        return self._explore([g.numpy() for g in greedy], stacked_masks)

    def extras(self) -> Dict[str, Any]:
        """``{"core_state": {agent: state}}``: the state each agent's last action was chosen from."""
        core = {}
        for key, states in zip(self._keys, self._acted_from):
            for index, agent in enumerate(self._groups[key]):
                core[agent] = states[index]
        return {"core_state": core}
