"""QMIX's monotonic mixer: a hand-set network computed by hand, and dQ_tot/dQ_i >= 0 everywhere we look."""
from __future__ import annotations

import numpy as np
import pytest


def _mixer(embed_size=1, hidden=0, init_scale=None, num_agents=2):
    from mava_plugins.systems.value_decomposition.mixer_modules import MonotonicMixing

    return MonotonicMixing(num_agents, embed_size, hidden, init_scale=init_scale)


def test_a_hand_set_mixer_computes_the_hand_computed_joint_value():
    """Embedding 1, linear hypernetworks of a 1-d state s = 1, weights set so the raw W1 is negative."""
    import tensorflow as tf

    mixer = _mixer()
    state = tf.constant([[1.0], [1.0]])
    mixer(tf.zeros((2, 2)), state)  # builds the variables
    values = {
        "hyper_w1/w": [[-2.0, 3.0]], "hyper_w1/b": [0.0, 0.0],  # W1 = |(-2, 3)| = (2, 3)
        "hyper_b1/w": [[0.5]], "hyper_b1/b": [0.0],  # b1 = .5
        "hyper_w2/w": [[-1.0]], "hyper_w2/b": [0.0],  # w2 = |-1| = 1
        "hyper_v_hidden/w": [[1.0]], "hyper_v_hidden/b": [0.0],  # relu(1) = 1
        "hyper_v_output/w": [[2.0]], "hyper_v_output/b": [1.0],  # V = 2 * 1 + 1 = 3
    }
    for variable in mixer.variables:
        name = variable.name.split(":")[0].split("/", 1)[1]
        variable.assign(np.reshape(values.pop(name), variable.shape))
    assert not values, f"variables not found: {sorted(values)}"
    agent_qs = tf.constant([[1.0, 1.0], [-2.0, -1.0]])
    with tf.GradientTape() as tape:
        tape.watch(agent_qs)
        q_tot = mixer(agent_qs, state)
    gradients = tape.gradient(q_tot, agent_qs).numpy()
    # (1, 1): elu(2 + 3 + .5) = 5.5 -> Q_tot = 5.5 + 3 = 8.5; dQ/dq = w2 * W1 = (2, 3)
    # (-2, -1): x = -4 - 3 + .5 = -6.5 -> elu = e^-6.5 - 1 -> Q_tot = e^-6.5 + 2; dQ/dq = e^-6.5 * (2, 3)
    np.testing.assert_allclose(q_tot.numpy(), [8.5, np.exp(-6.5) + 2.0], rtol=1e-6)
    np.testing.assert_allclose(gradients, [[2.0, 3.0], [2.0 * np.exp(-6.5), 3.0 * np.exp(-6.5)]], rtol=1e-4)  # float32 elu


@pytest.mark.parametrize("init_scale, hidden", [(None, 64), (0.1, 64), (1.0, 0), (10.0, 8)])
def test_joint_value_never_decreases_in_an_agents_value(init_scale, hidden):
    """Random mixers, agent values and states: every dQ_tot/dQ_i >= 0, and raising one Q_i never lowers Q_tot."""
    import tensorflow as tf

    tf.random.set_seed(7)
    rng = np.random.default_rng(7)
    mixer = _mixer(embed_size=16, hidden=hidden, init_scale=init_scale, num_agents=3)
    agent_qs = tf.constant(rng.normal(0.0, 5.0, (256, 3)), tf.float32)
    state = tf.constant(rng.normal(0.0, 3.0, (256, 6)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(agent_qs)
        q_tot = mixer(agent_qs, state)
    gradients = tape.gradient(q_tot, agent_qs).numpy()
    assert gradients.min() >= 0.0, gradients.min()
    assert (gradients > 0).mean() > 0.5, "the mixer should depend on the agents' values, not be flat"
    for agent in range(3):
        raised = agent_qs.numpy().copy()
        raised[:, agent] += rng.uniform(0.0, 4.0, 256)
        assert np.all(mixer(tf.constant(raised), state).numpy() >= q_tot.numpy() - 1e-4)
