"""The Q-learning update (``QLearner`` and the value-decomposition learner) against hand-computed TD errors.

The agents' "networks" here return their input: an observation *is* the vector of Q-values,
so every expected number is written down by hand. Gamma is 0.5 (exact in float32). The
discount factor is applied by the datasets, never by a learner:

* transitions come from the n-step adder with gamma folded into ``rewards`` and
  ``discounts`` (``tests/test_maths_nstep_adder.py`` checks the adder's numbers); the learner's
  target is ``rewards + discounts * bootstrap`` with nothing more;
* sequences store the environment's discounts; sequence replay's iterator multiplies them by
  gamma (:func:`apply_discount`), and the learner's target is the same expression.

The sequence cases cover an episode that terminates (discount 0 at its last step: no
bootstrap) and one that is truncated (discount 1: the last step bootstraps from the final
observation stored after it), and padding, which the loss mask removes.
"""
from __future__ import annotations

import types

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from mava_plugins.components.q_learner import QLearner, QLearnerSettings  # noqa: E402
from mava_plugins.components.q_learning import QNetworks  # noqa: E402
from mava_plugins.datasets.sequence_replay import apply_discount  # noqa: E402

GAMMA = 0.5
SETTINGS = QLearnerSettings(learning_rate=1e-3, double_q=True, huber_delta=0.0, target_update_period=1, target_tau=0.0)


class Identity(tf.Module):
    """A 'Q-network' whose Q-values are its input, scaled: ``scale * observation`` (also unrolled over time)."""

    def __init__(self, scale: float = 1.0, name: str = "identity"):
        super().__init__(name=name)
        self.scale = scale

    def __call__(self, observations):
        return self.scale * observations

    def unroll(self, observations, starts, state):
        return self.scale * observations, state


def _dataset(**config):
    values = {"prioritised": False, "burn_in": 0, "priority_eta": 0.9, **config}
    return types.SimpleNamespace(config=types.SimpleNamespace(**values))


def _q_networks(agents, target_scale: float = 1.0) -> QNetworks:
    return QNetworks(online={"agent": Identity()}, target={"agent": Identity(target_scale)}, groups={"agent": list(agents)})


def _per_agent(agents, values, dtype=np.float32):
    return {agent: tf.constant(np.asarray(column, dtype)) for agent, column in zip(agents, values)}


# ------------------------------------------------------------------------- transitions
def test_transition_targets_take_the_adders_discount_as_it_is():
    """Target = R + D * Q_target(o', argmax_legal Q_online(o')), D already holding gamma."""
    agents = ["a0"]
    learner = QLearner(_q_networks(agents, target_scale=2.0), SETTINGS, _dataset(), client=None)
    # two transitions: a 3-step return from the adder (R = 1 + .5*2 + .25*4 = 3, D = .5^3) and a
    # terminated one (R = 8, D = 0)
    data = {
        "observations": _per_agent(agents, [[[1.0, 5.0, 0.0], [0.0, -2.0, 0.0]]]),
        "actions": _per_agent(agents, [[1, 0]], np.int32),
        "rewards": _per_agent(agents, [[3.0, 8.0]]),
        "discounts": _per_agent(agents, [[0.125, 0.0]]),
        # next Q-values: the online net prefers action 0 (legal); action 2 is larger but illegal
        "next_observations": _per_agent(agents, [[[4.0, 1.0, 9.0], [3.0, 3.5, 0.0]]]),
        "next_masks": _per_agent(agents, [[[1, 1, 0], [1, 1, 1]]]),
    }
    values = learner.transition_values(data)
    errors = learner.td_errors(learner.mix(values)).numpy()[:, 0]
    # transition 0: chosen Q 5; bootstrap = target (2x) of action 0 = 8; 3 + .125 * 8 - 5 = -1
    # transition 1: chosen Q 0; terminated: 8 + 0 - 0 = 8
    np.testing.assert_array_equal(errors, [-1.0, 8.0])
    outputs = learner.losses(types.SimpleNamespace(data=data, info=None))
    assert outputs["q_loss"].numpy() == pytest.approx(0.5 * (1.0 + 64.0) / 2)  # squared loss (huber_delta 0)
    np.testing.assert_array_equal(outputs["_priorities"].numpy(), [1.0, 8.0])


# ---------------------------------------------------------------------------- sequences
def _sequence(final_discount: float):
    """One agent, one sequence of T = 5: steps 0 and 1 are real, step 2 the final observation, then padding.

    Q-values (= observations) at steps 0..2: [2, 0], [1, 3], [6, 4]; actions 0, 1; rewards 1, 2.
    The environment's discount is 1 after step 0 and ``final_discount`` after step 1 (0: the
    episode terminated, 1: it was truncated).
    """
    observations = [[2.0, 0.0], [1.0, 3.0], [6.0, 4.0], [0.0, 0.0], [0.0, 0.0]]
    return {
        "observations": {"a0": tf.constant([observations], tf.float32)},
        "masks": {"a0": tf.ones((1, 5, 2), tf.float32)},
        "actions": {"a0": tf.constant([[0, 1, 0, 0, 0]], tf.int32)},
        "rewards": {"a0": tf.constant([[1.0, 2.0, 0.0, 0.0, 0.0]], tf.float32)},
        "discounts": {"a0": tf.constant([[1.0, final_discount, 0.0, 0.0, 0.0]], tf.float32)},
        "starts": tf.constant([[1.0, 0.0, 0.0, 0.0, 0.0]], tf.float32),
        "valid": tf.constant([[1.0, 1.0, 0.0, 0.0, 0.0]], tf.float32),
        "core_state": {"a0": tf.zeros((1, 1), tf.float32)},
    }


@pytest.mark.parametrize(
    "final_discount, expected",
    [
        # step 0: 1 + .5 * 1 * max(1, 3) - 2 = 0.5; step 1: 2 + .5 * 0 * 6 - 3 = -1 (terminated)
        (0.0, [0.5, -1.0]),
        # truncated: step 1 bootstraps from the final observation: 2 + .5 * 1 * 6 - 3 = 2
        (1.0, [0.5, 2.0]),
    ],
)
def test_sequence_targets_use_gamma_from_the_iterator(final_discount, expected):
    learner = QLearner(_q_networks(["a0"]), SETTINGS, _dataset(), client=None, recurrent=True)
    data = apply_discount(_sequence(final_discount), gamma=GAMMA)
    np.testing.assert_array_equal(data["discounts"]["a0"].numpy(), [[0.5, 0.5 * final_discount, 0, 0, 0]])
    values = learner.sequence_values(data)
    errors = learner.td_errors(learner.mix(values)).numpy()[:, 0, 0]  # [T' = 4] trained steps
    np.testing.assert_array_equal(errors[:2], expected)
    np.testing.assert_array_equal(values.mask.numpy()[:, 0], [1, 1, 0, 0])  # the final observation and padding
    loss = learner.losses(types.SimpleNamespace(data=data, info=None))["q_loss"].numpy()
    assert loss == pytest.approx(0.5 * (expected[0] ** 2 + expected[1] ** 2) / 2)  # mean over the valid steps


def test_the_sequence_iterator_applies_the_runs_discount(monkeypatch):
    """``SequenceReplay.iterator`` hands ``apply_discount`` with the system's ``discount`` to the replay pipeline."""
    from mava_plugins.datasets import sequence_replay

    seen = {}

    def fake_iterator(builder, address, table, batch_size, prefetch, transform=None):
        seen["transform"] = transform
        return iter(())

    monkeypatch.setattr(sequence_replay, "replay_iterator", fake_iterator)
    dataset = sequence_replay.SequenceReplay(sequence_replay.SequenceReplay.Config())
    dataset.iterator(types.SimpleNamespace(system_config=types.SimpleNamespace(discount=GAMMA)), "localhost:0")
    import reverb

    out = seen["transform"](reverb.ReplaySample(info=None, data=_sequence(1.0))).data  # the pipeline maps whole samples
    np.testing.assert_array_equal(out["discounts"]["a0"].numpy(), [[0.5, 0.5, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(out["rewards"]["a0"].numpy(), _sequence(1.0)["rewards"]["a0"].numpy())


# ------------------------------------------------------------------- value decomposition
def test_value_decomposition_mixes_then_takes_the_same_td_error():
    """VDN: Q_tot = sum of chosen Q; target = mean reward + max discount * sum of bootstrap values."""
    from mava_plugins.systems.value_decomposition.learner import ValueDecompositionLearner
    from mava_plugins.systems.value_decomposition.mixer_modules import AdditiveMixing
    from mava_plugins.systems.value_decomposition.system import ValueDecompositionNetworks

    agents = ["a0", "a1"]
    networks = ValueDecompositionNetworks(_q_networks(agents), AdditiveMixing(name="m"), AdditiveMixing(name="t"), agents)
    learner = ValueDecompositionLearner(networks, SETTINGS, _dataset(), None, team_reward="mean")
    data = {
        "observations": _per_agent(agents, [[[1.0, 2.0]], [[3.0, 0.0]]]),
        "actions": _per_agent(agents, [[1], [0]], np.int32),  # chosen: 2 and 3 -> Q_tot 5
        "rewards": _per_agent(agents, [[1.0], [3.0]]),  # team reward 2
        "discounts": _per_agent(agents, [[0.0], [0.5]]),  # a0 done, a1 goes on: team discount 0.5
        "next_observations": _per_agent(agents, [[[0.0, 4.0]], [[6.0, 1.0]]]),  # bootstrap 4 + 6 = 10
        "next_masks": _per_agent(agents, [[[1, 1]], [[1, 1]]]),
    }
    errors = learner.td_errors(learner.mix(learner.transition_values(data))).numpy()
    np.testing.assert_array_equal(errors, [[2.0 + 0.5 * 10.0 - 5.0]])
    outputs = learner.losses(types.SimpleNamespace(data=data, info=None))
    assert outputs["_mean_q_total"].numpy() == 5.0 and outputs["_mean_q"].numpy() == 2.5
    np.testing.assert_array_equal(outputs["_priorities"].numpy(), [2.0])
