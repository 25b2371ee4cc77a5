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
        ordered = [networks[key] for key in self._keys]

        def greedy(observations, masks):
            return tuple(masked_argmax(net(obs), mask) for net, obs, mask in zip(ordered, observations, masks))

        self._greedy = tf.function(greedy, input_signature=(tuple(obs_specs), tuple(mask_specs)))

    def reset(self) -> None:
        """Feedforward policies keep no per-episode state."""

    def set_step(self, env_steps: int) -> None:
        self.step = env_steps
        if not self._evaluation:
            self.epsilon = self._exploration.value(env_steps)

    def select_actions(self, observations: Mapping[str, Any]) -> Dict[str, np.int32]:
        stacked_obs, stacked_masks = [], []
        for key in self._keys:
            agents = self._groups[key]
            stacked_obs.append(np.stack([observations[a].observation for a in agents]).astype(np.float32, copy=False))
            stacked_masks.append(np.stack([observations[a].action_mask for a in agents]).astype(np.float32, copy=False))
        greedy = self._greedy(tuple(stacked_obs), tuple(stacked_masks))
        actions: Dict[str, np.int32] = {}
        rng, epsilon = self._rng, self.epsilon
        for key, key_actions, masks in zip(self._keys, greedy, stacked_masks):
            key_actions = key_actions.numpy()
            for index, agent in enumerate(self._groups[key]):
                if epsilon > 0 and rng.random() < epsilon:
                    legal = np.flatnonzero(masks[index] > 0)
                    actions[agent] = np.int32(rng.choice(legal) if legal.size else 0)
                else:
                    actions[agent] = np.int32(key_actions[index])
        return actions
