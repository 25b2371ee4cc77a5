"""Critic heads: what a critic network outputs, how it reads as a value, and its TD loss.

The deterministic-policy-gradient learner is the same for MADDPG and MAD4PG; only the head
differs:

* :class:`ScalarHead` (MADDPG): one output, ``Q(s, a)``; squared TD error against
  ``r + d * Q_target(s', pi_target(s'))``.
* :class:`CategoricalHead` (MAD4PG): ``num_atoms`` logits of a distribution over fixed atoms
  in ``[v_min, v_max]``; the target distribution (rewards and discounts applied to the target
  critic's atoms) is projected back onto the atoms (C51, Bellemare et al. 2017) and the loss is
  the cross-entropy to it.

``rewards`` and ``discounts`` are the n-step sums and discount products of
:mod:`mava_plugins.datasets.transitions`, so n-step returns need nothing here.
"""
from __future__ import annotations

from typing import Any, Tuple


class ScalarHead:
    """A scalar Q-value critic (MADDPG)."""

    output_size = 1

    def value(self, outputs: Any) -> Any:
        """``[B]`` Q-values from ``[B, 1]`` critic outputs."""
        return outputs[:, 0]

    def loss(self, outputs: Any, rewards: Any, discounts: Any, target_outputs: Any) -> Tuple[Any, Any]:
        """Per-sample loss ``[B]`` and per-sample priority ``[B]`` (absolute TD error)."""
        import tensorflow as tf

        targets = tf.stop_gradient(rewards + discounts * self.value(target_outputs))
        td_errors = targets - self.value(outputs)
        return 0.5 * tf.square(td_errors), tf.abs(td_errors)


class CategoricalHead:
    """A categorical distributional critic over ``num_atoms`` fixed atoms in ``[v_min, v_max]`` (MAD4PG)."""

    def __init__(self, v_min: float, v_max: float, num_atoms: int):
        import numpy as np

        if not v_min < v_max:
            raise ValueError(f"v_min ({v_min}) must be below v_max ({v_max})")
        if num_atoms < 2:
            raise ValueError(f"num_atoms must be at least 2, got {num_atoms}")
        self.v_min = float(v_min)
        self.v_max = float(v_max)
        self.output_size = int(num_atoms)
        self.atoms = np.linspace(self.v_min, self.v_max, self.output_size, dtype=np.float32)

    def value(self, outputs: Any) -> Any:
        """``[B]`` expected values of the distributions given by ``[B, num_atoms]`` logits."""
        import tensorflow as tf

        return tf.reduce_sum(tf.nn.softmax(outputs, axis=-1) * self.atoms, axis=-1)

    def loss(self, outputs: Any, rewards: Any, discounts: Any, target_outputs: Any) -> Tuple[Any, Any]:
        """Per-sample cross-entropy ``[B]`` to the projected target distribution; also its priority."""
        import tensorflow as tf

        target_probabilities = tf.nn.softmax(target_outputs, axis=-1)
        projected = tf.stop_gradient(categorical_projection(rewards, discounts, target_probabilities, self.atoms))
        cross_entropy = -tf.reduce_sum(projected * tf.nn.log_softmax(outputs, axis=-1), axis=-1)
        return cross_entropy, cross_entropy


def categorical_projection(rewards: Any, discounts: Any, probabilities: Any, atoms: Any) -> Any:
    """Project the distribution of ``rewards + discounts * Z`` onto ``atoms`` (evenly spaced).

    ``Z`` puts ``probabilities[b, i]`` on ``atoms[i]``. Each shifted atom is clipped to
    ``[atoms[0], atoms[-1]]`` and its mass split between the two nearest atoms in proportion to
    closeness, so every row of the result sums to the row's total mass. Shapes: ``rewards`` and
    ``discounts`` ``[B]``, ``probabilities`` ``[B, N]``, ``atoms`` ``[N]``; returns ``[B, N]``.
    """
    import tensorflow as tf

    atoms = tf.cast(tf.convert_to_tensor(atoms), tf.float32)
    v_min, v_max = atoms[0], atoms[-1]
    num_atoms = tf.shape(atoms)[0]
    spacing = (v_max - v_min) / tf.cast(num_atoms - 1, tf.float32)
    shifted = rewards[:, None] + discounts[:, None] * atoms[None, :]  # [B, N]
    position = (tf.clip_by_value(shifted, v_min, v_max) - v_min) / spacing  # in [0, N - 1]
    indices = tf.cast(tf.range(num_atoms), tf.float32)
    # mass of source atom i that lands on atom j: max(0, 1 - |position_i - j|)
    weights = tf.nn.relu(1.0 - tf.abs(position[:, :, None] - indices[None, None, :]))  # [B, N_source, N_target]
    return tf.reduce_sum(probabilities[:, :, None] * weights, axis=1)
