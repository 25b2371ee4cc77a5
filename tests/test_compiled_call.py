"""CompiledCall (mava_plugins/components/compiled_call.py): the same results as the tf.function it replaces."""
from __future__ import annotations

import numpy as np
import pytest

from mava_core.errors import MavaError
from mava_plugins.components.compiled_call import CompiledCall

tf = pytest.importorskip("tensorflow")


def _make():
    weights = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4))

    def act(observations, state):
        first, second = observations
        return tuple(tf.matmul(x, weights) for x in (first, second)), state * 2.0

    signature = (
        (tf.TensorSpec((None, 3), tf.float32), tf.TensorSpec((None, 3), tf.float32)),
        tf.TensorSpec((1, 2), tf.float32),
    )
    return weights, act, signature


def test_outputs_equal_the_tf_functions_and_follow_variable_updates():
    weights, act, signature = _make()
    compiled = CompiledCall(act, signature, name="policy")
    reference = tf.function(act, input_signature=signature)
    rng = np.random.default_rng(0)
    for rows in (1, 5, 48):  # any batch size the signature allows
        observations = (rng.random((rows, 3)), rng.random((rows, 3)).astype(np.float32))  # float64 is converted
        state = rng.random((1, 2)).astype(np.float32)
        (got_a, got_b), got_state = compiled(observations, state)
        (want_a, want_b), want_state = reference(observations, state)
        np.testing.assert_allclose(got_a.numpy(), want_a.numpy(), rtol=1e-6)
        np.testing.assert_allclose(got_b.numpy(), want_b.numpy(), rtol=1e-6)
        np.testing.assert_array_equal(got_state.numpy(), want_state.numpy())
    weights.assign(tf.zeros((3, 4)))  # parameter pulls assign to the same variables
    (got_a, _), _ = compiled((np.ones((2, 3)), np.ones((2, 3))), np.zeros((1, 2)))
    assert not got_a.numpy().any()


def test_a_wrong_shape_is_refused_by_name():
    _, act, signature = _make()
    compiled = CompiledCall(act, signature, name="policy of madqn")
    with pytest.raises(MavaError, match=r"policy of madqn: input of shape \(2, 4\) where \(None, 3\) was expected"):
        compiled((np.ones((2, 4)), np.ones((2, 3))), np.zeros((1, 2)))
    with pytest.raises(MavaError, match="policy of madqn: input of shape"):
        compiled((np.ones((2, 3)), np.ones((2, 3))), np.zeros((2, 2)))


def test_without_the_flat_entry_it_calls_the_tf_function():
    _, act, signature = _make()
    compiled = CompiledCall(act, signature)
    compiled._call_flat = None  # as with a TensorFlow whose concrete functions lack it
    (got_a, _), _ = compiled((np.ones((2, 3)), np.ones((2, 3))), np.zeros((1, 2)))
    assert got_a.shape == (2, 4)
