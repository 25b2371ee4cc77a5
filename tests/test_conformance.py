"""The conformance suite: every environment family a fresh plugin manager registers, every task.

Checked for each case: specs match what ``reset`` and ``step`` return (through the contract
checker and directly), episodes end, a second episode runs, the same seed reproduces the
same trajectories, masks are honoured (random legal actions are accepted; an illegal action
is refused, ignored or penalised as the family declares), unknown tasks list the available
ones, and families that render give RGB frames.

Each family has a :class:`FamilySetup` in ``SETUPS`` (what it needs before an environment can
be made: the fake SMAC package, a scripted rcssserver; which cases; how it treats illegal
actions). A registered family without one fails ``test_every_registered_family_has_a_setup``;
a family whose dependency is not installed is skipped with the reason.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest
from conformance import acting_agents, assert_same_trajectory, check_timestep, random_actions, run_episode
from dm_env import specs
from fakes.fake_rcssserver import FakeRcssServer
from test_smac import fake_smac  # noqa: F401 - the fixture that puts the fake SMAC package on sys.path

from mava_core.environment import ContractCheckedEnvironment
from mava_core.errors import MavaError, MissingDependencyError, UnknownNameError
from mava_core.plugins import PluginManager
from mava_core.registry import Registry
from mava_core.specs import SEQUENTIAL

pytestmark = pytest.mark.timeout(120)

# what a family does with an action its mask forbids (checked by test_masks_are_honoured)
REFUSED = "refused"  # step() raises a MavaError naming the agent
IGNORED = "ignored"  # the step is the same as with action 0 (a legal no-op)
PENALISED = "penalised"  # the episode ends at once with a negative reward for that agent

Case = Tuple[str, Dict[str, Any]]


def _every_task(family: Any) -> List[Case]:
    return [(task, {}) for task in family.tasks()]


@dataclasses.dataclass(frozen=True)
class FamilySetup:
    """How the suite runs one environment family.

    ``needs``: a fixture that prepares what making an environment needs; it returns a
    callable giving the extra options of each environment (for example a fresh server's
    port). ``cases``: family -> (task, options) pairs. ``shorter``: task -> options that
    shorten episodes, for the tests that play many of them (the conformance test plays the
    task as configured). ``illegal``: task -> REFUSED, IGNORED, PENALISED, or None when an
    illegal action cannot be told apart. ``renders``: tasks whose ``render_mode="rgb_array"``
    frames are checked.
    """

    needs: Optional[str] = None
    cases: Callable[[Any], List[Case]] = _every_task
    shorter: Callable[[str], Dict[str, Any]] = lambda task: {}
    illegal: Callable[[str], Optional[str]] = lambda task: None
    renders: Sequence[str] = ()


def _pettingzoo_cases(family: Any) -> List[Case]:
    return _every_task(family) + [("simple_spread_v3", {"continuous_actions": True})]


def _pettingzoo_illegal(task: str) -> Optional[str]:
    from mava_plugins.envs.pettingzoo_family import AEC_API, PettingZooFamily

    return PENALISED if PettingZooFamily.api(task) == AEC_API else None  # classic games end on an illegal move


def _debug_cases(family: Any) -> List[Case]:
    return _every_task(family) + [("simple_spread", {"num_agents": 2, "max_steps": 7}), ("simple_spread", {"continuous": True})]


def _rware_cases(family: Any) -> List[Case]:
    first, *others = family.tasks()  # the warehouse always runs to its time limit (500 steps): play one task that long
    return [(first, {})] + [(task, {"max_steps": 100}) for task in others]


def _smac_cases(family: Any) -> List[Case]:
    return [("3m", {}), ("2s3z", {})]  # maps the fake game knows (tests/fakes/fake_smac.py)


SETUPS: Dict[str, FamilySetup] = {
    "debug": FamilySetup(
        cases=_debug_cases,
        illegal=lambda task: IGNORED if task == "switch_riddle" else None,
        renders=("simple_spread",),
    ),
    "pettingzoo": FamilySetup(
        cases=_pettingzoo_cases,
        shorter=lambda task: {"max_cycles": 60} if task == "knights_archers_zombies_v11" else {},
        illegal=_pettingzoo_illegal,
        renders=("simple_spread_v3", "tictactoe_v3"),
    ),
    "lbf": FamilySetup(illegal=lambda task: IGNORED, renders=("Foraging-8x8-2p-2f-coop-v3",)),
    "rware": FamilySetup(cases=_rware_cases, shorter=lambda task: {"max_steps": 60}, renders=("rware-tiny-2ag-v2",)),
    # Flatland's renderer takes ~15 s to start: its frames are checked in tests/test_flatland.py
    "flatland": FamilySetup(cases=lambda family: [("tiny_2_agents", {})]),
    "smac": FamilySetup(needs="fake_smac", cases=_smac_cases, illegal=lambda task: REFUSED),
    "robocup": FamilySetup(needs="rcssserver", cases=lambda family: [(task, {"cycle_limit": 12}) for task in family.tasks()]),
}


# --------------------------------------------------------------------------- per-family fixtures
@pytest.fixture
def rcssserver():
    """A fresh scripted rcssserver for every environment (a server hosts one game)."""
    servers: List[FakeRcssServer] = []

    def options() -> Dict[str, Any]:
        server = FakeRcssServer(goal_after_kicks=3)
        server.start()
        servers.append(server)
        return {"port": server.port, "timeout": 2.0, "synch_mode": True}

    yield options
    for server in servers:
        server.stop()


# ------------------------------------------------------------------------------------- cases
PLUGIN_MANAGER = PluginManager()
REGISTRY = PLUGIN_MANAGER.registry


def family_cases(registry: Registry, setups: Dict[str, FamilySetup]) -> List[Any]:
    """A ``pytest.param(family, task, options)`` per case of every registered family.

    A family that cannot even list its tasks (its module needs a package that is missing)
    gives one case, skipped with the reason. Families without a setup get every task with no
    options (and fail ``test_every_registered_family_has_a_setup``).
    """
    params = []
    for name in registry.names("environment"):
        setup = setups.get(name, FamilySetup())
        try:
            cases = setup.cases(registry.get("environment", name))
        except MavaError as error:
            params.append(pytest.param(name, None, {}, id=name, marks=pytest.mark.skip(reason=f"{name}: {error}")))
            continue
        for task, options in cases:
            suffix = "-".join(f"{key}={value}" for key, value in options.items())
            params.append(pytest.param(name, task, options, id=f"{name}:{task}" + (f"-{suffix}" if suffix else "")))
    return params


CASES = family_cases(REGISTRY, SETUPS)
FAMILIES = REGISTRY.names("environment")


class Maker:
    """Makes a case's environments once its family's setup ran; a missing dependency skips the test."""

    def __init__(
        self, family: str, task: str, options: Dict[str, Any], extra: Callable[[], Dict[str, Any]] = dict, registry: Registry = REGISTRY
    ):
        self.family, self.task, self.options, self._extra, self._registry = family, task, options, extra, registry
        self.setup = SETUPS.get(family, FamilySetup())
        self.made: List[Any] = []

    def __call__(self, seed: int = 0, shorter: bool = False, **more: Any):
        options = {**self.options, **(self.setup.shorter(self.task) if shorter else {}), **more, **self._extra()}
        try:
            env = self._registry.get("environment", self.family).make(self.task, seed=seed, **options)
        except MissingDependencyError as error:
            pytest.skip(f"{self.family}: {error}")
        self.made.append(env)
        return env

    def close(self) -> None:
        for env in self.made:
            env.close()


@pytest.fixture
def make(request):
    params = request.node.callspec.params
    family, task, options = params["family"], params["task"], params["options"]
    setup = SETUPS.get(family, FamilySetup())
    prepared = request.getfixturevalue(setup.needs) if setup.needs else None
    maker = Maker(family, task, options, prepared if callable(prepared) else dict)
    yield maker
    maker.close()


# ------------------------------------------------------------------------------------- tests
def test_every_registered_family_has_a_setup():
    missing = [name for name in FAMILIES if name not in SETUPS]
    assert not missing, (
        f"environment families without a conformance setup: {missing}; add a FamilySetup for each to SETUPS in "
        "tests/test_conformance.py (what it needs, its cases, how it treats illegal actions)"
    )
    assert {"debug", "pettingzoo", "lbf", "rware", "smac", "robocup"} <= set(FAMILIES)


def test_unavailable_family_is_skipped_with_the_reason():
    from mava_core.registry import PluginRegistry

    registry = Registry()
    PluginRegistry(registry, "ghost_plugin").add("environment", "ghost", "no_such_package.envs:GhostFamily")
    (param,) = family_cases(registry, {})
    (mark,) = param.marks
    assert mark.name == "skip" and "no_such_package" in mark.kwargs["reason"] and "ghost" in mark.kwargs["reason"]

    class FamilyWithoutItsPackage:  # importable, but making an environment needs a missing package
        @staticmethod
        def tasks():
            return ["task"]

        @staticmethod
        def make(task, seed=0, **options):
            raise MissingDependencyError("lbforaging", "lbf", "environment family 'lbf'")

    PluginRegistry(registry, "ghost_plugin").add("environment", "unmakeable", FamilyWithoutItsPackage)
    assert [p.id for p in family_cases(registry, {})] == ["ghost", "unmakeable:task"]
    with pytest.raises(pytest.skip.Exception, match=r"unmakeable: .*pip install 'mava\[lbf\]'"):
        Maker("unmakeable", "task", {}, registry=registry)()


@pytest.mark.parametrize("family,task,options", CASES)
def test_task_conforms(make, family, task, options):
    env = make()
    spec = env.multi_agent_spec()
    assert spec is env.multi_agent_spec()  # cached
    assert spec.num_agents >= 1
    for agent in spec.agents.values():
        if agent.discrete:
            assert agent.action.dtype == np.int32
        else:
            assert isinstance(agent.action, specs.BoundedArray) and agent.action.dtype == np.float32
    if spec.state is not None:
        env.reset()
        assert env.get_state().shape == tuple(spec.state.shape)
    run_episode(ContractCheckedEnvironment(env, name=f"{family}:{task}"))
    run_episode(env, seed=1)  # a second episode on the same environment
    if spec.kind == SEQUENTIAL:
        assert env.step(random_actions(spec, env.reset(), np.random.default_rng(0))).mid()  # every agent's action is accepted


@pytest.mark.parametrize("family,task,options", CASES)
def test_same_seed_same_trajectory(make, family, task, options):
    def rollout(seed):
        env = make(seed=seed, shorter=True)
        return run_episode(env) + run_episode(env)  # two episodes: later resets are reproducible too

    assert_same_trajectory(rollout(3), rollout(3))


def _find_masked(env, spec, rng, max_steps: int = 500):
    """Play random legal actions until an acting agent has an illegal action; (timestep, agent, action) or None."""
    timestep = env.reset()
    for _ in range(max_steps):
        agents = acting_agents(env, spec)
        for agent in agents:
            illegal = np.flatnonzero(timestep.observation[agent].action_mask == 0)
            if illegal.size:
                return timestep, agent, int(illegal[0])
        timestep = env.step(random_actions(spec, timestep, rng, agents))
        if timestep.last():
            timestep = env.reset()
    return None


@pytest.mark.parametrize("family,task,options", CASES)
def test_masks_are_honoured(make, family, task, options):
    env = make(shorter=True)
    spec = env.multi_agent_spec()
    run_episode(env)  # random legal actions only: every one is accepted
    if not spec.has_action_masks:
        return
    # two copies on the same seed and actions reach the same step where an acting agent has an illegal action
    twins = [make(seed=2, shorter=True) for _ in range(2)]
    found = [_find_masked(twin, spec, np.random.default_rng(5)) for twin in twins]
    assert found[0] is not None, f"{family}:{task} declares action masks but no acting agent ever had an illegal action"
    timestep, agent, illegal = found[0]
    assert found[1][1:] == (agent, illegal)
    legal = random_actions(spec, timestep, np.random.default_rng(9), acting_agents(twins[0], spec))
    with_illegal = {**legal, agent: np.int32(illegal)}
    behaviour = SETUPS.get(family, FamilySetup()).illegal(task)
    if behaviour == REFUSED:
        with pytest.raises(MavaError, match=agent):
            twins[0].step(with_illegal)
    elif behaviour == PENALISED:
        result = twins[0].step(with_illegal)
        assert result.last() and result.reward[agent] < 0
    elif behaviour == IGNORED:  # the same as the no-op, action 0
        assert timestep.observation[agent].action_mask[0] == 1, "action 0 must be legal to compare with"
        assert_same_trajectory([twins[0].step(with_illegal)], [twins[1].step({**legal, agent: np.int32(0)})])


@pytest.mark.parametrize("family", FAMILIES)
def test_unknown_task_lists_available(request, family):
    setup = SETUPS.get(family, FamilySetup())
    if setup.needs:
        request.getfixturevalue(setup.needs)
    try:
        family_class = REGISTRY.get("environment", family)
        with pytest.raises(UnknownNameError) as info:
            family_class.make("no_such_task")
    except MissingDependencyError as error:
        pytest.skip(f"{family}: {error}")
    for task in family_class.tasks()[:10]:
        assert task in str(info.value)


RENDER_CASES = [pytest.param(name, task, {}, id=f"{name}:{task}") for name, setup in SETUPS.items() if name in FAMILIES for task in setup.renders]


@pytest.mark.parametrize("family,task,options", RENDER_CASES)
def test_renders_rgb_frames(make, family, task, options):
    from mava_plugins.recording.recorder import capture_frame

    env = make(render_mode="rgb_array")
    spec = env.multi_agent_spec()
    timestep = env.reset()
    first = capture_frame(env, f"{family}:{task}")
    assert first.ndim == 3 and first.shape[-1] == 3 and first.dtype == np.uint8 and first.std() > 0  # not a blank frame
    for _ in range(3):
        timestep = env.step(random_actions(spec, timestep, np.random.default_rng(0), acting_agents(env, spec)))
        check_timestep(spec, timestep)
        assert capture_frame(env, f"{family}:{task}").shape == first.shape
        if timestep.last():
            break
