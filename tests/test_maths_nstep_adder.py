"""The n-step transition adder, checked against hand-computed returns and discount products.

The adder's items are written into a real in-process Reverb table (FIFO, the transition
signature of the run's tables) and read back in order. Every case uses ``gamma = 0.5`` so
every expected number is exact in float32, and one 4-step episode of two agents:

* ``a0`` stays to the end; its rewards are 1, 2, 4, 8 and its discount is 1 until the last
  step, where it is 0 (termination) or 1 (truncation: the episode was cut, the state was not
  terminal);
* ``a1`` leaves early: rewards 10, 20, then it is reported as the environment reports an agent
  that left (zero observation, zero reward, discount 0) and it no longer acts.

An item for step ``t`` holds ``R = sum_k gamma^k prod_{j<k} d_{t+j} r_{t+k}`` over the next
``min(n, T - t)`` steps, the discount product ``D = prod_k gamma d_{t+k}`` over the same steps
and the observation after them: the learner's target is ``R + D * V(next observation)``.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import pytest
from dm_env import specs

from mava_core.environment import first_timestep, next_timestep
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec

GAMMA = 0.5
AGENTS = ("a0", "a1")
SPEC = MultiAgentSpec(
    agents={a: AgentSpec(observation=specs.Array((2,), np.float32), action=specs.DiscreteArray(3)) for a in AGENTS}
)
REWARDS = {"a0": [1.0, 2.0, 4.0, 8.0], "a1": [10.0, 20.0, 0.0, 0.0]}
A1_LEAVES_AFTER = 1  # a1's discount is 0 from step 1 on: it acts at steps 0 and 1 only

# Hand-computed: (rewards, discount products, index of the next observation) for steps 0..3.
# a0, n = 1: one step each; discounts 0.5 except at the last step (0 when terminated).
# a0, n = 3: t0: 1 + .5*2 + .25*4 = 3 (D = .5^3 = .125, next obs 3); t1: 2 + .5*4 + .25*8 = 6;
#            t2: 4 + .5*8 = 8 (two steps left, D = .25); t3: 8 (D = .5); a termination zeroes
#            every D whose steps include the last one.
# a0, n = 5: longer than the episode: t0: 1 + 1 + 1 + 1 = 4 (D = .5^4 = .0625), t1: 2 + 2 + 2 = 6, t2: 8, t3: 8.
EXPECTED_A0 = {
    (1, "terminated"): ([1, 2, 4, 8], [0.5, 0.5, 0.5, 0.0], [1, 2, 3, 4]),
    (1, "truncated"): ([1, 2, 4, 8], [0.5, 0.5, 0.5, 0.5], [1, 2, 3, 4]),
    (3, "terminated"): ([3, 6, 8, 8], [0.125, 0.0, 0.0, 0.0], [3, 4, 4, 4]),
    (3, "truncated"): ([3, 6, 8, 8], [0.125, 0.125, 0.25, 0.5], [3, 4, 4, 4]),
    (5, "terminated"): ([4, 6, 8, 8], [0.0, 0.0, 0.0, 0.0], [4, 4, 4, 4]),
    (5, "truncated"): ([4, 6, 8, 8], [0.0625, 0.125, 0.25, 0.5], [4, 4, 4, 4]),
}
# a1 left after step 1 (discount 0 there), so nothing after step 1 reaches it either way:
# n = 1: R = 10, 20, 0, 0 and D = .5, 0, 0, 0; n >= 2: t0: 10 + .5*20 = 20 with D = .5 * (.5*0) = 0.
EXPECTED_A1 = {
    1: ([10, 20, 0, 0], [0.5, 0.0, 0.0, 0.0]),
    3: ([20, 20, 0, 0], [0.0, 0.0, 0.0, 0.0]),
    5: ([20, 20, 0, 0], [0.0, 0.0, 0.0, 0.0]),
}


def _observations(step: int, episode: int) -> Dict[str, AgentObservation]:
    """Observation ``[episode, step]`` (zeros for a1 once it has left), all actions legal."""
    mask = np.ones(3, np.float32)
    observations = {}
    for agent in AGENTS:
        gone = agent == "a1" and step > A1_LEAVES_AFTER
        observations[agent] = AgentObservation(np.zeros(2, np.float32) if gone else np.array([episode, step], np.float32), mask)
    return observations


def _write_episodes(adder, ending: str, episodes: int) -> None:
    for episode in range(episodes):
        adder.add_first(first_timestep(SPEC, _observations(0, episode)), {})
        for t in range(4):
            last = t == 3
            discounts = {"a0": 0.0 if (last and ending == "terminated") else 1.0, "a1": 0.0 if t >= A1_LEAVES_AFTER else 1.0}
            rewards = {a: REWARDS[a][t] for a in AGENTS}
            actions = {"a0": np.int32(1 + t % 2)}
            if t <= A1_LEAVES_AFTER:
                actions["a1"] = np.int32(2)
            adder.add(actions, next_timestep(_observations(t + 1, episode), rewards, discounts, last), {})


def _adder_items(n_step: int, ending: str, episodes: int = 2) -> List[Dict]:
    """Write ``episodes`` episodes through a real NStepTransitionAdder; the items, in write order."""
    import reverb

    from mava_plugins.datasets.adders import NStepTransitionAdder
    from mava_plugins.datasets.transitions import transition_signature

    table = reverb.Table(
        name="transitions", sampler=reverb.selectors.Fifo(), remover=reverb.selectors.Fifo(), max_size=100,
        rate_limiter=reverb.rate_limiters.MinSize(1), max_times_sampled=1, signature=transition_signature(SPEC),
    )
    server = reverb.Server([table], port=None)
    try:
        client = reverb.Client(f"localhost:{server.port}")
        adder = NStepTransitionAdder(client, "transitions", SPEC, n_step=n_step, gamma=GAMMA)
        _write_episodes(adder, ending, episodes)
        adder.flush()
        written = adder.items_written
        adder.close()
        assert client.server_info()["transitions"].current_size == written
        dataset = reverb.TrajectoryDataset.from_table_signature(
            server_address=f"localhost:{server.port}", table="transitions", max_in_flight_samples_per_worker=1,
            rate_limiter_timeout_ms=1_000,
        )
        items = [sample.data for sample in dataset.take(written)]
    finally:
        server.stop()
    assert written == 4 * episodes, "every step is written exactly once"
    return [{field: {a: np.asarray(v[a]) for a in AGENTS} for field, v in item.items()} for item in items]


@pytest.mark.parametrize("ending", ["terminated", "truncated"])
@pytest.mark.parametrize("n_step", [1, 3, 5])
def test_n_step_returns_and_discount_products_match_hand_computed_values(n_step, ending):
    items = _adder_items(n_step, ending)
    rewards, discounts, next_steps = EXPECTED_A0[(n_step, ending)]
    a1_rewards, a1_discounts = EXPECTED_A1[n_step]
    for episode in range(2):  # the second episode's items hold nothing of the first's
        episode_items = items[4 * episode: 4 * episode + 4]
        got = lambda field, agent: [float(item[field][agent]) for item in episode_items]  # noqa: E731
        assert got("rewards", "a0") == rewards
        assert got("discounts", "a0") == discounts
        assert got("rewards", "a1") == a1_rewards
        assert got("discounts", "a1") == a1_discounts
        assert [item["observations"]["a0"].tolist() for item in episode_items] == [[episode, t] for t in range(4)]
        assert [item["next_observations"]["a0"].tolist() for item in episode_items] == [[episode, s] for s in next_steps]
        # each item keeps the action of its first step; an agent that left gets the no-op placeholder 0
        assert [int(item["actions"]["a0"]) for item in episode_items] == [1, 2, 1, 2]
        assert [int(item["actions"]["a1"]) for item in episode_items] == [2, 2, 0, 0]


def test_targets_from_items_equal_the_discounted_sum_of_a_terminated_episode():
    """With a zero value function beyond the episode, R + D * V(next) is the full discounted return for any n."""
    # a0's return from step t: sum_k .5^k r_{t+k}: t0: 1 + 1 + 1 + 1 = 4, t1: 6, t2: 8, t3: 8
    for n_step in (1, 3, 5):
        items = _adder_items(n_step, "terminated", episodes=1)
        # V(next) is the true return from the next observation's step (0 after the end)
        returns_from = {0: 4.0, 1: 6.0, 2: 8.0, 3: 8.0, 4: 0.0}
        targets = [float(i["rewards"]["a0"]) + float(i["discounts"]["a0"]) * returns_from[int(i["next_observations"]["a0"][1])]
                   for i in items]
        assert targets == [4.0, 6.0, 8.0, 8.0], (n_step, targets)
