"""The Sonnet module of the ``gru`` network component (this module imports TensorFlow)."""
from __future__ import annotations

from typing import Sequence, Tuple

import sonnet as snt
import tensorflow as tf


class RecurrentNetwork(snt.Module):
    """``observation -> MLP torso -> GRU -> linear head``, stepped or unrolled over time."""

    def __init__(self, output_size: int, torso_sizes: Sequence[int], core_size: int, activation: str, name: str):
        super().__init__(name=name)
        act = getattr(tf.nn, activation)
        layers = []
        for index, width in enumerate(torso_sizes):
            layers += [snt.Linear(width, name=f"torso_{index}"), act]
        self._torso = snt.Sequential(layers, name="torso")
        self._core = snt.GRU(core_size, name="gru")
        self._head = snt.Linear(output_size, name="head")
        self.state_size = int(core_size)

    def initial_state(self, batch_size) -> tf.Tensor:
        """The zero state, ``[batch_size, core_size]``."""
        return tf.zeros((batch_size, self.state_size), tf.float32)

    def __call__(self, observations: tf.Tensor, state: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """One step: ``[B, *obs]``, ``[B, H]`` -> ``([B, output_size], [B, H])``."""
        flat = tf.reshape(observations, (tf.shape(observations)[0], -1))
        output, new_state = self._core(self._torso(flat), state)
        return self._head(output), new_state

    def unroll(self, observations: tf.Tensor, starts: tf.Tensor, state: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """Time-major unroll: ``[T, B, *obs]``, ``[T, B]``, ``[B, H]`` -> ``([T, B, output_size], [B, H])``.

        Before step ``t`` the state is reset to zeros where ``starts[t]`` is 1 (an episode
        starts there). ``T`` must be static (it is: sequences have a fixed length); the torso
        and head run once over all steps, the GRU step by step.
        """
        steps = observations.shape[0]
        if steps is None:
            raise ValueError("RecurrentNetwork.unroll needs a static number of time steps")
        batch = tf.shape(observations)[1]
        flat = tf.reshape(observations, (steps * batch, -1))
        embeddings = tf.reshape(self._torso(flat), (steps, batch, -1))
        zeros = tf.zeros_like(state)
        outputs = []
        for t in range(steps):
            state = tf.where(tf.cast(starts[t], tf.bool)[:, None], zeros, state)
            output, state = self._core(embeddings[t], state)
            outputs.append(output)
        stacked = tf.stack(outputs)  # [T, B, H]
        q = tf.reshape(self._head(tf.reshape(stacked, (steps * batch, -1))), (steps, batch, -1))
        return q, state
