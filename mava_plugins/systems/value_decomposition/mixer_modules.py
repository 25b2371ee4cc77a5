"""Sonnet modules of the mixers in :mod:`.mixers` (this module imports TensorFlow)."""
from __future__ import annotations

from typing import Optional

import sonnet as snt
import tensorflow as tf


@snt.allow_empty_variables
class AdditiveMixing(snt.Module):
    """``Q_tot(s, a) = sum_i Q_i(o_i, a_i)``; the state is ignored (no variables)."""

    def __call__(self, agent_qs: tf.Tensor, state: Optional[tf.Tensor] = None) -> tf.Tensor:
        return tf.reduce_sum(agent_qs, axis=-1)


def _linear(size: int, name: str, init_scale: Optional[float]) -> snt.Linear:
    """A linear layer; with ``init_scale`` its weights start uniform with variance ``init_scale / fan_in``."""
    if init_scale is None:
        return snt.Linear(size, name=name)
    return snt.Linear(size, name=name, w_init=snt.initializers.VarianceScaling(init_scale, "fan_in", "uniform"))


def _hypernetwork(output_size: int, hidden_size: int, name: str, init_scale: Optional[float]) -> snt.Module:
    if hidden_size <= 0:
        return _linear(output_size, name, init_scale)
    return snt.Sequential(
        [_linear(hidden_size, f"{name}_hidden", init_scale), tf.nn.relu, _linear(output_size, f"{name}_output", init_scale)],
        name=name,
    )


class MonotonicMixing(snt.Module):
    """QMIX's mixing network, ``Q_tot = w2(s)^T elu(W1(s)^T q + b1(s)) + V(s)``.

    ``W1(s)`` ``[num_agents, embed]`` and ``w2(s)`` ``[embed]`` come from hypernetworks of the
    state and pass through ``abs`` (non-negative, hence ``Q_tot`` is monotonic in every
    ``Q_i``); the biases ``b1(s)`` (linear) and ``V(s)`` (two layers, ReLU) are unconstrained.
    ``init_scale`` (None: Sonnet's default initialiser) makes every layer's initial weights
    uniform with variance ``init_scale / fan_in``; it sets the mixer's initial gain ``dQ_tot / dQ_i``.
    """

    def __init__(
        self, num_agents: int, embed_size: int, hypernet_hidden_size: int, name: str = "mixer", init_scale: Optional[float] = None
    ):
        super().__init__(name=name)
        self._num_agents = num_agents
        self._embed = embed_size
        self._hyper_w1 = _hypernetwork(num_agents * embed_size, hypernet_hidden_size, "hyper_w1", init_scale)
        self._hyper_w2 = _hypernetwork(embed_size, hypernet_hidden_size, "hyper_w2", init_scale)
        self._hyper_b1 = _linear(embed_size, "hyper_b1", init_scale)
        self._value = snt.Sequential(
            [_linear(embed_size, "hyper_v_hidden", init_scale), tf.nn.relu, _linear(1, "hyper_v_output", init_scale)],
            name="hyper_v",
        )

    def __call__(self, agent_qs: tf.Tensor, state: tf.Tensor) -> tf.Tensor:
        state = tf.reshape(tf.cast(state, tf.float32), (tf.shape(state)[0], -1))
        w1 = tf.abs(tf.reshape(self._hyper_w1(state), (-1, self._num_agents, self._embed)))  # [B, N, E]
        b1 = self._hyper_b1(state)  # [B, E]
        hidden = tf.nn.elu(tf.einsum("bn,bne->be", agent_qs, w1) + b1)  # [B, E]
        w2 = tf.abs(self._hyper_w2(state))  # [B, E]
        return tf.reduce_sum(hidden * w2, axis=-1) + tf.squeeze(self._value(state), axis=-1)  # [B]
