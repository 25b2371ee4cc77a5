"""Environment family and wrapper edge cases; the registry-wide suite is tests/test_conformance.py."""
from __future__ import annotations

import numpy as np
import pytest
from conformance import check_timestep as _check_timestep  # noqa: F401 - shared with test_robocup
from conformance import random_actions as _random_actions  # noqa: F401 - shared with test_smac
from conformance import run_episode as _run_episode
from dm_env import specs

from mava_core.environment import ContractCheckedEnvironment, MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError, EnvironmentContractError
from mava_core.registry import PluginRegistry, Registry
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_plugins.envs import debugging_plugin, gymnasium_plugin, pettingzoo_plugin


def _registry() -> Registry:
    registry = Registry()
    pettingzoo_plugin.mava_register(registry=PluginRegistry(registry, "pettingzoo"))
    debugging_plugin.mava_register(registry=PluginRegistry(registry, "debugging_envs"))
    gymnasium_plugin.mava_register(registry=PluginRegistry(registry, "grid_worlds"))
    return registry


REGISTRY = _registry()


def _family(name):
    return REGISTRY.get("environment", name)


def test_registry_and_tasks():
    assert {"pettingzoo", "debug"} <= set(REGISTRY.names("environment"))
    assert set(_family("pettingzoo").tasks()) == {
        "simple_spread_v3",
        "simple_speaker_listener_v4",
        "simple_adversary_v3",
        "simple_tag_v3",
        "simple_reference_v3",
        "knights_archers_zombies_v11",
        "tictactoe_v3",
        "connect_four_v3",
    }
    assert set(_family("debug").tasks()) == {"two_step", "simple_spread", "switch_riddle"}


@pytest.mark.parametrize("family,task", [("pettingzoo", "simple_spread_v3"), ("debug", "simple_spread"), ("debug", "two_step")])
def test_unknown_option_names_key(family, task):
    with pytest.raises(ConfigError) as info:
        _family(family).make(task, bogus_option=1)
    assert info.value.key == "env.bogus_option"
    assert "bogus_option" in str(info.value)


def test_pettingzoo_options_forwarded():
    env = _family("pettingzoo").make("simple_spread_v3", N=2, max_cycles=4)
    assert env.multi_agent_spec().agent_ids == ["agent_0", "agent_1"]
    assert len(_run_episode(env)) == 5
    truncated = _run_episode(env)[-1]
    assert all(d == 1.0 for d in truncated.discount.values())  # time limit: truncation, not termination


def test_pettingzoo_render_rgb_array():
    env = _family("pettingzoo").make("simple_spread_v3", render_mode="rgb_array")
    env.reset()
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[-1] == 3
    env.close()
    with pytest.raises(ConfigError):
        _family("pettingzoo").make("simple_spread_v3").render()


def _two_step_return(first_action, second_actions):
    env = _family("debug").make("two_step")
    timestep = env.reset()
    np.testing.assert_array_equal(env.get_state(), [1, 0, 0])
    timestep = env.step({"agent_0": first_action, "agent_1": 0})
    assert timestep.mid() and timestep.reward == {"agent_0": 0.0, "agent_1": 0.0}
    timestep = env.step({"agent_0": second_actions[0], "agent_1": second_actions[1]})
    assert timestep.last() and timestep.discount == {"agent_0": 0.0, "agent_1": 0.0}
    assert timestep.reward["agent_0"] == timestep.reward["agent_1"]
    return float(timestep.reward["agent_0"]), env


def test_two_step_payoffs():
    payoff, env = _two_step_return(1, (1, 1))
    assert payoff == 8.0 and env.metrics()["optimal"] == 1.0
    np.testing.assert_array_equal(env.get_state(), [0, 0, 1])
    for joint in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        assert _two_step_return(0, joint)[0] == 7.0
    assert _two_step_return(1, (0, 0))[0] == 0.0
    assert _two_step_return(1, (0, 1))[0] == 1.0


def test_debug_spread_reward_and_moves():
    env = _family("debug").make("simple_spread", seed=0, num_agents=2)
    env.reset()
    env._agents[:] = [[0.0, 0.0], [0.95, 0.95]]
    env._landmarks[:] = [[0.5, 0.0], [-1.0, 0.0]]
    timestep = env.step({"agent_0": 2, "agent_1": 4})  # right, up (clipped)
    np.testing.assert_allclose(env._agents, [[0.1, 0.0], [0.95, 1.0]])
    expected = -(0.4 + 1.1)
    assert timestep.reward["agent_0"] == timestep.reward["agent_1"] == pytest.approx(expected, abs=1e-6)
    obs = timestep.observation["agent_0"].observation
    np.testing.assert_allclose(obs, [0.1, 0.0, 0.4, 0.0, -1.1, 0.0, 0.85, 1.0], atol=1e-6)


def test_debug_spread_renders_agents_and_landmarks():
    from mava_plugins.envs.numpy_canvas import PALETTE

    env = _family("debug").make("simple_spread", num_agents=2, render_mode="rgb_array")
    env.reset()
    env._agents[:] = [[0.0, 0.0], [0.5, -0.5]]
    env._landmarks[:] = [[-0.5, 0.5], [0.9, 0.9]]
    frame = env.render()
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8

    def at(x, y):  # the pixel at world position (x, y); y grows upwards
        return tuple(frame[int((1 - y) / 2 * 256), int((x + 1) / 2 * 256)])

    assert at(0.0, 0.0) == PALETTE[0] and at(0.5, -0.5) == PALETTE[1]
    assert at(-0.5, 0.5) == at(0.9, 0.9) == (190, 190, 190)  # landmarks
    assert at(-0.9, -0.9) == (255, 255, 255)
    with pytest.raises(ConfigError, match="pass env.render_mode=rgb_array"):
        _family("debug").make("simple_spread").render()
    with pytest.raises(ConfigError, match="must be rgb_array or unset") as info:
        _family("debug").make("simple_spread", render_mode="human")
    assert info.value.key == "env.render_mode"


def test_debug_spread_rejects_bad_values():
    with pytest.raises(ConfigError) as info:
        _family("debug").make("simple_spread", num_agents=0)
    assert info.value.key == "env.num_agents"


# ----------------------------------------------------------------- PettingZoo wrapper edge cases
class _LeavingParallelEnv:
    """A PettingZoo-style ParallelEnv: agent "b" terminates after step 1, "a" is truncated after 3.

    Observations are dicts with an action mask; ``state()`` is not implemented.
    """

    metadata = {"name": "leaving"}
    render_mode = None

    def __init__(self, info_masks=False):
        from gymnasium import spaces

        self.possible_agents = ["a", "b"]
        self.info_masks = info_masks
        box = spaces.Box(-1.0, 1.0, (2,), np.float32)
        mask = spaces.Box(0, 1, (3,), np.int8)
        self._obs_space = box if info_masks else spaces.Dict({"observation": box, "action_mask": mask})
        self._act_space = spaces.Discrete(3)
        self.received = []

    def observation_space(self, agent):
        return self._obs_space

    def action_space(self, agent):
        return self._act_space

    def state(self):
        raise NotImplementedError

    def _obs(self, agent):
        value = np.full((2,), self.t / 10.0, np.float32)
        mask = np.array([1, 0, 1], np.int8)
        return value if self.info_masks else {"observation": value, "action_mask": mask}

    def _infos(self):
        return {a: ({"action_mask": np.array([0, 1, 1], np.int8)} if self.info_masks else {}) for a in self.agents}

    def reset(self, seed=None, options=None):
        self.t = 0
        self.agents = list(self.possible_agents)
        return {a: self._obs(a) for a in self.agents}, self._infos()

    def step(self, actions):
        self.received.append(dict(actions))
        assert set(actions) == set(self.agents)
        self.t += 1
        terminations = {a: a == "b" and self.t == 1 for a in self.agents}
        truncations = {a: a == "a" and self.t == 3 for a in self.agents}
        observations = {a: self._obs(a) for a in self.agents}
        rewards = {a: 1.0 for a in self.agents}
        infos = self._infos()
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return observations, rewards, terminations, truncations, infos


def _wrap(fake):
    from mava_plugins.envs.pettingzoo_wrapper import PettingZooParallelEnvironment

    return PettingZooParallelEnvironment(fake, seed=0, name="leaving")


@pytest.mark.parametrize("info_masks", [False, True])
def test_wrapper_agents_leaving_masks_and_no_state(info_masks):
    fake = _LeavingParallelEnv(info_masks=info_masks)
    env = ContractCheckedEnvironment(_wrap(fake))
    spec = env.multi_agent_spec()
    assert spec.state is None and env.get_state() is None
    assert spec.has_action_masks
    expected_mask = [0, 1, 1] if info_masks else [1, 0, 1]
    timestep = env.reset()
    np.testing.assert_array_equal(timestep.observation["a"].action_mask, expected_mask)

    timestep = env.step({"a": 0, "b": 2})  # b terminates here
    assert timestep.mid()
    assert timestep.discount == {"a": 1.0, "b": 0.0}
    assert timestep.reward == {"a": 1.0, "b": 1.0}
    np.testing.assert_allclose(timestep.observation["b"].observation, [0.1, 0.1])

    timestep = env.step({"a": 0, "b": 2})  # b is dead: its action is dropped
    assert fake.received[-1] == {"a": 0}
    assert timestep.reward["b"] == 0.0 and timestep.discount["b"] == 0.0
    np.testing.assert_array_equal(timestep.observation["b"].observation, [0.0, 0.0])
    np.testing.assert_array_equal(timestep.observation["b"].action_mask, [1, 1, 1])
    np.testing.assert_array_equal(timestep.observation["a"].action_mask, expected_mask)
    assert timestep.observation["a"].action_mask.dtype == np.float32

    timestep = env.step({"a": 1})  # a is truncated: LAST with discount 1
    assert timestep.last()
    assert timestep.discount == {"a": 1.0, "b": 0.0}
    assert env.step({"a": 0, "b": 0}).first()  # stepping after LAST starts a new episode


# ------------------------------------------------------------------------- contract checks
class _FaultyEnv(MultiAgentEnvironment):
    """Breaks its contract in one way (``fault``) on its first step."""

    def __init__(self, fault):
        self.fault = fault
        agent = AgentSpec(specs.Array((3,), np.float32), specs.DiscreteArray(2, dtype=np.int32))
        self.spec = MultiAgentSpec(agents={"agent_0": agent, "agent_1": agent})

    def multi_agent_spec(self):
        return self.spec

    def _obs(self, shape=(3,), agents=("agent_0", "agent_1"), dtype=np.float32):
        return {a: AgentObservation(np.zeros(shape, dtype), np.ones((2,), np.float32)) for a in agents}

    def reset(self):
        return first_timestep(self.spec, self._obs())

    def step(self, actions):
        observations, rewards, discounts = self._obs(), {"agent_0": 0.0, "agent_1": 0.0}, {"agent_0": 1.0, "agent_1": 1.0}
        if self.fault == "shape":
            observations = self._obs((4,))
        elif self.fault == "nan":
            rewards["agent_1"] = float("nan")
        elif self.fault == "missing":
            observations = self._obs(agents=("agent_0",))
        elif self.fault == "discount":
            discounts["agent_0"] = 1.5
        elif self.fault == "dtype":
            observations = self._obs(dtype=object)
        elif self.fault in ("nan observation", "inf observation", "huge observation"):
            value = {"nan observation": np.nan, "inf observation": -np.inf, "huge observation": 3e38}[self.fault]
            observations["agent_1"] = AgentObservation(np.array([1.0, value, value], np.float32), np.ones((2,), np.float32))
        return next_timestep(observations, rewards, discounts, False)


@pytest.mark.parametrize(
    "fault,message",
    [
        ("shape", r"agent 'agent_0': observation shape \(4,\) does not match the spec's \(3,\)"),
        ("nan", r"agent 'agent_1': reward is nan \(NaN or Inf\)"),
        ("missing", r"agents \['agent_1'\] are missing from the observation"),
        ("discount", r"agent 'agent_0': discount is 1.5; discounts lie in \[0, 1\]"),
        ("dtype", r"agent 'agent_0': observation has non-numeric dtype object"),
        ("nan observation", r"agent 'agent_1': observation contains NaN or Inf"),
        ("inf observation", r"agent 'agent_1': observation contains NaN or Inf"),
    ],
)
def test_contract_checker_catches_faults(fault, message):
    env = ContractCheckedEnvironment(_FaultyEnv(fault), name="faulty")
    env.reset()
    with pytest.raises(EnvironmentContractError, match="faulty step\\(\\): " + message):
        env.step({"agent_0": 0, "agent_1": 0})


def test_contract_checker_passes_finite_observations_whose_sum_overflows():
    """The finiteness check sums each observation first; a sum that overflows is not a fault."""
    env = ContractCheckedEnvironment(_FaultyEnv("huge observation"), name="huge")
    env.reset()
    assert env.step({"agent_0": 0, "agent_1": 0}).observation["agent_1"].observation[1] == np.float32(3e38)


def test_missing_package_names_the_extra(monkeypatch):
    from mava_core.errors import MissingDependencyError
    from mava_plugins.envs import pettingzoo_family

    def no_mpe2(name):
        raise ModuleNotFoundError(f"No module named {name.split('.')[0]!r}", name=name.split(".")[0])

    monkeypatch.setattr(pettingzoo_family.importlib, "import_module", no_mpe2)
    with pytest.raises(MissingDependencyError, match=r"mava\[envs\]"):
        pettingzoo_family.PettingZooFamily.make("simple_spread_v3")
