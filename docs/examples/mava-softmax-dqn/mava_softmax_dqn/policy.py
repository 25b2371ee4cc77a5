"""Softmax (Boltzmann) action selection over Q-values, batched across agents and environment copies."""
from __future__ import annotations

from typing import Any, List, Sequence

import numpy as np

from mava_plugins.components.value_policy import MASKED_VALUE, EpsilonGreedyPolicy


class SoftmaxPolicy(EpsilonGreedyPolicy):
    """Samples each action from ``softmax(Q / temperature)`` over the legal actions; greedy when evaluating.

    The base class stacks every group's observations (over all environment copies), calls the
    networks once per step in one compiled function and splits the actions per copy again;
    this class changes what that function returns (:meth:`network_outputs`) and how actions
    are drawn from it (:meth:`choose`). The temperature is the exploration component's value.
    """

    def __init__(self, networks, groups, spec, exploration: Any, evaluation: bool, seed: int):
        super().__init__(networks, groups, spec, exploration, evaluation=evaluation, seed=seed)
        self.exploration = exploration
        self.evaluation = evaluation
        self.rng = np.random.default_rng(seed)
        self.temperature = 0.0 if evaluation else exploration.value(0)

    def set_step(self, env_steps: int) -> None:
        self.step = env_steps
        if not self.evaluation:
            self.temperature = self.exploration.value(env_steps)

    def network_outputs(self, network: Any, observations, masks):
        """Q-values ``[rows, A]``, illegal actions pushed to ``MASKED_VALUE`` (never sampled)."""
        return network(observations) + (1.0 - masks) * MASKED_VALUE

    def choose(self, outputs: Sequence[np.ndarray], stacked_masks: tuple) -> List[np.ndarray]:
        """One sample of ``softmax(Q / temperature)`` per row (Gumbel-max), or the greedy action at temperature 0."""
        chosen = []
        for q_values in outputs:
            scores = q_values
            if self.temperature > 0:
                scores = q_values / self.temperature + self.rng.gumbel(size=q_values.shape)
            chosen.append(scores.argmax(axis=-1).astype(np.int32))
        return chosen
