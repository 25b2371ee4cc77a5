"""MAPPO's TD(lambda)/GAE advantages on hand-computed sequences (gamma 0.5, lambda 0.5 and 1).

``test_mappo.py`` holds one hand-computed case at gamma 0.9; these add the two limits
(lambda 0: one-step TD errors, lambda 1: Monte Carlo returns minus values), an episode that
ends inside a sequence by termination versus truncation, and an agent that leaves early.
"""
from __future__ import annotations

import numpy as np
import pytest

# one sequence of 4 steps; step 2 ends an episode, step 3 starts the next one
REWARDS = [1.0, 1.0, 1.0, 1.0]
VALUES = [1.0, 2.0, 3.0, 4.0]
# V(s_{t+1}): for step 2 the value of the episode's final observation (10), for step 3 the
# bootstrap at the end of the sequence (5)
NEXT_VALUES = [2.0, 3.0, 10.0, 5.0]
ENDS = [0.0, 0.0, 1.0, 0.0]


def _gae(discounts, lam, rewards=REWARDS, values=VALUES, next_values=NEXT_VALUES, ends=ENDS):
    from mava_plugins.systems.mappo.learner import generalised_advantages

    advantages, returns = generalised_advantages([rewards], [discounts], [values], [next_values], [ends], gamma=0.5, lam=lam)
    return advantages.numpy()[0].tolist(), returns.numpy()[0].tolist()


@pytest.mark.parametrize(
    "discounts, lam, advantages, returns",
    [
        # truncated at step 2 (discount 1): deltas 1 + .5*2 - 1 = 1 | 1 + .5*3 - 2 = .5 | 1 + .5*10 - 3 = 3 | 1 + .5*5 - 4 = -.5
        # gamma * lambda = .25, cut at the episode end: A3 = -.5, A2 = 3, A1 = .5 + .25*3 = 1.25, A0 = 1 + .25*1.25 = 1.3125
        ([1.0, 1.0, 1.0, 1.0], 0.5, [1.3125, 1.25, 3.0, -0.5], [2.3125, 3.25, 6.0, 3.5]),
        # terminated at step 2 (discount 0): delta2 = 1 - 3 = -2; A1 = .5 + .25*-2 = 0, A0 = 1 + 0 = 1
        ([1.0, 1.0, 0.0, 1.0], 0.5, [1.0, 0.0, -2.0, -0.5], [2.0, 2.0, 1.0, 3.5]),
        # lambda 0: the one-step TD errors themselves
        ([1.0, 1.0, 0.0, 1.0], 0.0, [1.0, 0.5, -2.0, -0.5], [2.0, 2.5, 1.0, 3.5]),
        # lambda 1, terminated: returns are the Monte Carlo returns 1 + .5 + .25 = 1.75, 1.5, 1, and
        # the bootstrapped 1 + .5*5 = 3.5 for the unfinished episode
        ([1.0, 1.0, 0.0, 1.0], 1.0, [0.75, -0.5, -2.0, -0.5], [1.75, 1.5, 1.0, 3.5]),
        # lambda 1, truncated: the returns bootstrap from the final observation's value 10:
        # step 2: 1 + .5*10 = 6, step 1: 1 + .5*6 = 4, step 0: 1 + .5*4 = 3
        ([1.0, 1.0, 1.0, 1.0], 1.0, [2.0, 2.0, 3.0, -0.5], [3.0, 4.0, 6.0, 3.5]),
    ],
)
def test_advantages_and_returns_match_hand_computed_values(discounts, lam, advantages, returns):
    got_advantages, got_returns = _gae(discounts, lam)
    np.testing.assert_allclose(got_advantages, advantages, rtol=1e-6)
    np.testing.assert_allclose(got_returns, returns, rtol=1e-6)


def test_an_agent_that_left_early_gets_nothing_from_after_it_left():
    """Discount 0 from the step it left (the environment's report of a departed agent), zero rewards after."""
    # it left at step 1: deltas 1 + .5*2 - 1 = 1 | 3 + 0 - 2 = 1 | 0 - 0 = 0 | 0 - 0 = 0 (values 0 once gone)
    # A1 = 1 (nothing carried past a zero discount), A0 = 1 + .25 * 1 = 1.25
    advantages, returns = _gae([1.0, 0.0, 0.0, 0.0], 0.5, rewards=[1.0, 3.0, 0.0, 0.0], values=[1.0, 2.0, 0.0, 0.0],
                               next_values=[2.0, 0.0, 0.0, 0.0], ends=[0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(advantages, [1.25, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(returns, [2.25, 3.0, 0.0, 0.0])
