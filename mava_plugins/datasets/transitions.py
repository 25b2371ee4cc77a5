"""The layout of a multi-agent transition, shared by adders, table signatures and learners.

A transition is a dict of per-agent dicts::

    observations, masks, actions, rewards, discounts, next_observations, next_masks
    (+ state, next_state when the environment has a global state)

``rewards`` are n-step discounted sums and ``discounts`` already include the discount
factor: the bootstrap target is ``rewards + discounts * value(next_observations)``.

When every agent has the same observation shape, action-mask size and action type (the
common case: MPE, LBF, RWARE, SMAC), the replay table may store each per-agent field as one
*stacked* column ``[num_agents, ...]`` in the spec's agent order: 7 columns instead of
``7 * num_agents``, which makes Reverb writes and samples cheaper. The iterator turns a
stacked batch back into per-agent dicts (:func:`unstack_agents`), so learners see one
layout either way.

A table may also hold *blocks* of ``G`` transitions per item (``dataset.block_size``): every
field then has a leading ``[G]`` axis, the executor appends each block to Reverb once instead
of ``G`` single transitions, and the iterator samples ``batch_size / G`` items and flattens
them back into ``batch_size`` transitions (:func:`unblock`).
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from mava_core.specs import MultiAgentSpec

PER_AGENT_FIELDS = ("observations", "masks", "actions", "rewards", "discounts", "next_observations", "next_masks")


def action_dtype_and_shape(agent_spec):
    if agent_spec.discrete:
        return np.int32, ()
    return np.float32, tuple(agent_spec.action.shape)


def homogeneous_agents(spec: MultiAgentSpec) -> bool:
    """Whether the transition's per-agent fields can be stacked: two or more agents with one spec."""
    return spec.num_agents > 1 and spec.homogeneous()


def transition_signature(spec: MultiAgentSpec, stacked: bool = False, block: int = 1) -> Dict[str, Any]:
    """Nested ``tf.TensorSpec`` of one table item, for the Reverb table signature.

    ``stacked`` (only for :func:`homogeneous_agents`): each per-agent field is one spec of
    shape ``[num_agents, ...]`` instead of a dict of per-agent specs. ``block`` > 1: an item
    is a block of that many transitions, so every spec gets a leading ``[block]`` axis.
    """
    import tensorflow as tf

    def per_agent(make):
        if stacked:
            one = make(next(iter(spec.agents.values())))
            return tf.TensorSpec((len(spec.agents),) + tuple(one.shape), one.dtype)
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
    if block > 1:
        signature = tf.nest.map_structure(lambda s: tf.TensorSpec((block,) + tuple(s.shape), s.dtype), signature)
    return signature


def unblock(sample: Any, block: int) -> Any:
    """A batch of ``b`` sampled blocks as ``b * block`` transitions (a ``reverb.ReplaySample``).

    The data's leading ``[b, block]`` axes merge into one; each sample info field (key,
    probability, table size, priority) is repeated for the ``block`` transitions of its item,
    in order, so transition ``i`` carries the info of item ``i // block``.
    """
    import reverb
    import tensorflow as tf

    def merge(x):
        shape = tf.shape(x)
        return tf.reshape(x, tf.concat([[shape[0] * shape[1]], shape[2:]], axis=0))

    data = tf.nest.map_structure(merge, sample.data)
    info = tf.nest.map_structure(lambda x: tf.repeat(x, block, axis=0), sample.info)
    return reverb.ReplaySample(info, data)


def unstack_agents(batch: Dict[str, Any], agents: List[str]) -> Dict[str, Any]:
    """Per-agent dicts again from a batch in the stacked layout: ``[B, N, ...]`` becomes ``{agent: [B, ...]}``."""
    import tensorflow as tf

    unstacked = dict(batch)
    for field in PER_AGENT_FIELDS:
        unstacked[field] = dict(zip(agents, tf.unstack(batch[field], num=len(agents), axis=1)))
    return unstacked
