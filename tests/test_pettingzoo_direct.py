"""The direct step of mpe2 tasks (``mava_plugins/envs/pettingzoo_direct.py``) against PettingZoo's own.

Two copies of each task, made with the same seed, are stepped with the same random actions,
one through PettingZoo's parallel conversion (``direct_step=False``) and one directly; every
timestep must be equal, over several episodes and through the resets between them.
"""
from __future__ import annotations

import numpy as np
import pytest

from mava_core.environment import ContractCheckedEnvironment
from mava_core.errors import ConfigError, MavaError
from mava_plugins.envs.pettingzoo_family import TASKS, PettingZooFamily
from mava_plugins.envs.pettingzoo_wrapper import PettingZooParallelEnvironment

MPE_TASKS = sorted(task for task, entry in TASKS.items() if entry.module.startswith("mpe2."))


def _pair(task: str, **options):
    direct = PettingZooFamily.make(task, seed=3, **options)
    through = PettingZooFamily.make(task, seed=3, **options)
    through = PettingZooParallelEnvironment(through.environment, seed=3, name="through", direct_step=False)
    return direct, through


def _random_actions(spec, rng):
    actions = {}
    for agent, agent_spec in spec.agents.items():
        action = agent_spec.action
        if agent_spec.discrete:
            actions[agent] = np.int32(rng.integers(agent_spec.num_actions))
        else:  # a little outside the bounds now and then, to exercise the clip
            actions[agent] = rng.uniform(action.minimum - 0.1, action.maximum + 0.1).astype(np.float32)
    return actions


def _assert_same(a, b):
    assert a.step_type == b.step_type
    assert a.reward.keys() == b.reward.keys() and a.discount.keys() == b.discount.keys()
    for agent in a.observation:
        np.testing.assert_array_equal(a.observation[agent].observation, b.observation[agent].observation)
        np.testing.assert_array_equal(a.observation[agent].action_mask, b.observation[agent].action_mask)
        assert a.reward[agent] == b.reward[agent]
        assert a.discount[agent] == b.discount[agent]


@pytest.mark.parametrize("continuous", [False, True])
@pytest.mark.parametrize("task", MPE_TASKS)
def test_the_direct_step_gives_pettingzoos_timesteps(task, continuous):
    direct, through = _pair(task, continuous_actions=continuous, max_cycles=7)
    assert direct.steps_directly and not through.steps_directly
    rng = np.random.default_rng(0)
    _assert_same(direct.reset(), through.reset())
    lasts = 0
    for _ in range(32):  # four episodes of 7 steps, the resets (FIRST steps) between them, one more reset
        actions = _random_actions(direct.multi_agent_spec(), rng)
        a, b = direct.step(actions), through.step(actions)
        _assert_same(a, b)
        lasts += a.last()
        assert direct.environment.agents == direct.environment.unwrapped.agents
    assert lasts == 4
    np.testing.assert_array_equal(direct.get_state(), through.get_state())


def test_an_action_outside_the_space_is_refused_naming_the_agent():
    env = PettingZooFamily.make("simple_spread_v3", seed=0)
    env.reset()
    with pytest.raises(MavaError, match=r"agent 'agent_1'.*action 7 is not in its action space Discrete\(5\)"):
        env.step({"agent_0": 0, "agent_1": 7, "agent_2": 0})


def test_other_environments_step_through_pettingzoo():
    pytest.importorskip("pettingzoo.butterfly")
    env = PettingZooFamily.make("knights_archers_zombies_v11", seed=0)
    assert not env.steps_directly


def test_a_direct_run_matches_through_the_contract_check():
    """The contract check and the direct step together: a whole episode, no complaint."""
    env = ContractCheckedEnvironment(PettingZooFamily.make("simple_spread_v3", seed=1), "spread")
    spec = env.multi_agent_spec()
    rng = np.random.default_rng(1)
    timestep = env.reset()
    while not timestep.last():
        timestep = env.step(_random_actions(spec, rng))
    assert timestep.last()


def test_the_direct_step_is_an_environment_option():
    assert not PettingZooFamily.make("simple_spread_v3", seed=0, direct_step="false").steps_directly
    assert PettingZooFamily.make("simple_spread_v3", seed=0, direct_step=True).steps_directly
    with pytest.raises(ConfigError, match="env.direct_step"):
        PettingZooFamily.make("simple_spread_v3", seed=0, direct_step="sometimes")
    with pytest.raises(ConfigError, match=r"env.direct_step.*unknown option"):  # turn-based tasks have no such step
        PettingZooFamily.make("tictactoe_v3", seed=0, direct_step=False)
