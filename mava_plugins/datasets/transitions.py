"""The layout of a multi-agent transition, shared by adders, table signatures and learners.

A transition is a dict of per-agent dicts::

    observations, masks, actions, rewards, discounts, next_observations, next_masks
    (+ state, next_state when the environment has a global state)

``rewards`` are n-step discounted sums and ``discounts`` already include the discount
factor: the bootstrap target is ``rewards + discounts * value(next_observations)``.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from mava_core.specs import MultiAgentSpec

PER_AGENT_FIELDS = ("observations", "masks", "actions", "rewards", "discounts", "next_observations", "next_masks")


def action_dtype_and_shape(agent_spec):
    if agent_spec.discrete:
        return np.int32, ()
    return np.float32, tuple(agent_spec.action.shape)


def transition_signature(spec: MultiAgentSpec) -> Dict[str, Any]:
    """Nested ``tf.TensorSpec`` of one transition, for the Reverb table signature."""
    import tensorflow as tf

    def per_agent(make):
        return {agent: make(agent_spec) for agent, agent_spec in spec.agents.items()}

    def obs(a):
        return tf.TensorSpec(a.observation.shape, tf.float32)

    def mask(a):
        return tf.TensorSpec((a.num_actions,), tf.float32)

    def action(a):
        dtype, shape = action_dtype_and_shape(a)
        return tf.TensorSpec(shape, tf.as_dtype(dtype))

    def scalar(_):
        return tf.TensorSpec((), tf.float32)

    signature = {
        "observations": per_agent(obs),
        "masks": per_agent(mask),
        "actions": per_agent(action),
        "rewards": per_agent(scalar),
        "discounts": per_agent(scalar),
        "next_observations": per_agent(obs),
        "next_masks": per_agent(mask),
    }
    if spec.state is not None:
        signature["state"] = tf.TensorSpec(spec.state.shape, tf.float32)
        signature["next_state"] = tf.TensorSpec(spec.state.shape, tf.float32)
    return signature
