"""MAD4PG's categorical (C51) projection on hand-computed cases: atoms 0, 1, 2, 3."""
from __future__ import annotations

import numpy as np
import pytest

ATOMS = np.array([0.0, 1.0, 2.0, 3.0], np.float32)
PROBABILITIES = [0.1, 0.2, 0.3, 0.4]  # mean 0*.1 + 1*.2 + 2*.3 + 3*.4 = 2


@pytest.mark.parametrize(
    "reward, discount, expected",
    [
        # shifted atoms .5, 1, 1.5, 2: .1 splits .05/.05 onto atoms 0 and 1, .2 lands on 1,
        # .3 splits .15/.15 onto 1 and 2, .4 lands on 2 -> (.05, .4, .55, 0); mean .4 + 1.1 = 1.5 = .5 + .5 * 2
        (0.5, 0.5, [0.05, 0.4, 0.55, 0.0]),
        # shifted 2, 3, 4, 5: clipped to 2, 3, 3, 3 -> (0, 0, .1, .9)
        (2.0, 1.0, [0.0, 0.0, 0.1, 0.9]),
        # a terminal transition (discount 0): all mass at the reward 1.25 -> .75 on atom 1, .25 on atom 2
        (1.25, 0.0, [0.0, 0.75, 0.25, 0.0]),
        # below v_min: everything clipped onto atom 0
        (-5.0, 0.5, [1.0, 0.0, 0.0, 0.0]),
        # the identity: r = 0, d = 1 leaves the distribution as it was
        (0.0, 1.0, PROBABILITIES),
    ],
)
def test_projection_matches_hand_computed_distributions(reward, discount, expected):
    import tensorflow as tf

    from mava_plugins.systems.maddpg.heads import categorical_projection

    projected = categorical_projection(tf.constant([reward]), tf.constant([discount]), tf.constant([PROBABILITIES]), ATOMS)
    np.testing.assert_allclose(projected.numpy()[0], expected, atol=1e-6)


def test_projection_keeps_the_mean_of_an_unclipped_target_and_the_heads_loss_uses_it():
    """Unclipped, the projected mean is r + d * E[Z]; the head's loss is the cross-entropy to the projection."""
    import tensorflow as tf

    from mava_plugins.systems.maddpg.heads import CategoricalHead, categorical_projection

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(4), size=8).astype(np.float32)
    rewards = rng.uniform(0.0, 1.0, 8).astype(np.float32)  # r + d * z stays inside [0, 3] for d <= 2/3
    discounts = rng.uniform(0.0, 0.66, 8).astype(np.float32)
    projected = categorical_projection(tf.constant(rewards), tf.constant(discounts), tf.constant(probabilities), ATOMS).numpy()
    np.testing.assert_allclose(projected @ ATOMS, rewards + discounts * (probabilities @ ATOMS), atol=1e-5)
    np.testing.assert_allclose(projected.sum(axis=1), 1.0, atol=1e-6)
    head = CategoricalHead(0.0, 3.0, 4)
    # hand-computed: target logits log(.1, .2, .3, .4), r = .5, d = .5 -> target (.05, .4, .55, 0);
    # online logits 0 (uniform .25 each): cross-entropy = -(sum of target) * log(.25) = log 4
    loss, _ = head.loss(tf.zeros((1, 4)), tf.constant([0.5]), tf.constant([0.5]), tf.math.log(tf.constant([PROBABILITIES])))
    np.testing.assert_allclose(loss.numpy(), [np.log(4.0)], rtol=1e-6)
    np.testing.assert_allclose(head.value(tf.math.log(tf.constant([PROBABILITIES]))).numpy(), [2.0], rtol=1e-6)
