"""Double-Q bootstrap values and TD targets on hand-computed cases.

The Q-networks here are fixed linear maps of one-hot observations (``q = obs @ M``), so the
online and target networks' Q-values are known numbers: the tests check which action each
rule picks, which network values it, that illegal actions are never picked, and the target
``r + D * bootstrap`` built from the adder's n-step reward sum and discount product.
"""
from __future__ import annotations

import numpy as np
import pytest

# rows: Q-values of observation 0 and observation 1 over 3 actions
ONLINE = np.array([[1.0, 5.0, 3.0], [0.0, -1.0, 2.0]], np.float32)
TARGET = np.array([[4.0, 2.0, 0.0], [7.0, 1.0, -3.0]], np.float32)


def _linear(matrix):
    import tensorflow as tf

    constant = tf.constant(matrix)
    return lambda observations: tf.matmul(observations, constant)


def _one_hot(indices):
    return np.eye(2, dtype=np.float32)[indices]


@pytest.mark.parametrize(
    "masks, double_q, expected",
    [
        # all legal. Double-Q: online picks argmax(1, 5, 3) = 1, the target values it: 2 | obs 1: online picks 2 -> -3
        ([[1, 1, 1], [1, 1, 1]], True, [2.0, -3.0]),
        # plain Q-learning: the target's own max: max(4, 2, 0) = 4 | max(7, 1, -3) = 7
        ([[1, 1, 1], [1, 1, 1]], False, [4.0, 7.0]),
        # action 1 illegal for obs 0, action 2 for obs 1. Double: online's legal argmax 2 -> 0 | argmax(0, -1) = 0 -> 7
        ([[1, 0, 1], [1, 1, 0]], True, [0.0, 7.0]),
        # plain, action 0 illegal for obs 0 and for obs 1: max(2, 0) = 2 | max(1, -3) = 1
        ([[0, 1, 1], [0, 1, 1]], False, [2.0, 1.0]),
    ],
)
def test_bootstrap_values_pick_with_the_right_network_among_legal_actions(masks, double_q, expected):
    from mava_plugins.components.q_learning import bootstrap_values

    values = bootstrap_values(_linear(ONLINE), _linear(TARGET), _one_hot([0, 1]), np.array(masks, np.float32), double_q)
    np.testing.assert_array_equal(values.numpy(), expected)


def test_group_targets_combine_n_step_rewards_discount_products_and_double_q_values():
    """Two agents sharing one network; hand-computed targets and TD errors."""
    import tensorflow as tf

    from mava_plugins.components.q_learning import QNetworks, chosen_q, group_q_values, per_agent_columns, td_loss

    networks = QNetworks(online={"shared": _linear(ONLINE)}, target={"shared": _linear(TARGET)}, groups={"shared": ["a", "b"]})
    legal = np.ones((1, 3), np.float32)
    data = {
        "observations": {"a": _one_hot([0]), "b": _one_hot([1])},
        "actions": {"a": np.array([2], np.int32), "b": np.array([0], np.int32)},
        "next_observations": {"a": _one_hot([1]), "b": _one_hot([0])},
        "next_masks": {"a": legal, "b": legal},
    }
    (group,) = group_q_values(networks, data, double_q=True)
    chosen = per_agent_columns([group], "chosen", ["a", "b"]).numpy()[0]
    bootstrap = per_agent_columns([group], "bootstrap", ["a", "b"]).numpy()[0]
    # chosen: a took action 2 in obs 0 -> online 3; b took action 0 in obs 1 -> online 0
    np.testing.assert_array_equal(chosen, [3.0, 0.0])
    # bootstrap (double-Q): a's next obs 1 -> online argmax 2 -> target -3; b's next obs 0 -> online argmax 1 -> target 2
    np.testing.assert_array_equal(bootstrap, [-3.0, 2.0])
    # a 3-step item with gamma 0.5: R = 1 + .5 * 2 + .25 * 4 = 3 and D = .125 (not terminated) for a;
    # b terminated inside its window: R = 2, D = 0. Targets: 3 + .125 * -3 = 2.625 and 2 + 0 * 2 = 2
    rewards, discounts = np.array([3.0, 2.0], np.float32), np.array([0.125, 0.0], np.float32)
    targets = rewards + discounts * bootstrap
    np.testing.assert_array_equal(targets, [2.625, 2.0])
    td_errors = tf.constant(targets - chosen)  # -0.375 and 2.0
    # Huber with delta 1: 0.5 * .375^2 = 0.0703125 and 1 * (2 - 0.5) = 1.5; squared (delta 0): 0.5 * e^2
    np.testing.assert_allclose(td_loss(td_errors, 1.0).numpy(), [0.0703125, 1.5])
    np.testing.assert_allclose(td_loss(td_errors, 0.0).numpy(), [0.0703125, 2.0])
    np.testing.assert_array_equal(chosen_q(tf.constant(ONLINE), tf.constant([1, 2])).numpy(), [5.0, 2.0])
