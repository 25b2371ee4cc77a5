"""The plugin manager: entry-point discovery, blocking, failures, conflicts and the registry.

Every test builds its own :class:`PluginManager`; none touches the process-wide one except
through ``monkeypatch`` (restored after the test).
"""
from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dm_env
import numpy as np
import pytest

import mava_core
from mava_core import cli, plugins
from mava_core.config import RunConfig
from mava_core.environment import ContractCheckedEnvironment
from mava_core.errors import (
    MavaError,
    MissingDependencyError,
    PluginConflictError,
    PluginError,
    UnknownNameError,
)
from mava_core.hookspecs import ENTRY_POINT_GROUP, hookimpl
from mava_core.plugins import PluginManager
from mava_core.registry import CORE_KINDS, Registry
from mava_core.system import SystemBuilder

ROOT = Path(__file__).resolve().parents[1]
THIRD_PARTY = Path(__file__).resolve().parent / "third_party"
EXAMPLE_MODULE = "mava_example_plugin"
EXAMPLE_DIST, EXAMPLE_VERSION = "mava-example-plugin", "0.3.1"


def _setup_builtin_plugins() -> dict:
    """``builtin_plugins`` from setup.py, read with ``ast`` (setup() is not run)."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "builtin_plugins" for t in node.targets):
            items = ast.literal_eval(node.value)
            return dict((part.strip() for part in item.split("=")) for item in items)
    raise AssertionError("setup.py defines no builtin_plugins list")


BUILTIN = _setup_builtin_plugins()


def _builtin_entry_points():
    return [ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name in BUILTIN]


def _entry_point(name: str, module: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=module, group=ENTRY_POINT_GROUP)


def _forget_modules(*prefixes: str) -> None:
    for name in [m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in prefixes)]:
        del sys.modules[name]


@pytest.fixture
def third_party(monkeypatch):
    """``tests/third_party`` importable; the example plugin forgotten again afterwards."""
    _forget_modules(EXAMPLE_MODULE)
    monkeypatch.syspath_prepend(str(THIRD_PARTY))
    yield THIRD_PARTY
    _forget_modules(EXAMPLE_MODULE)


@pytest.fixture
def write_module(tmp_path, monkeypatch):
    """Write a throwaway top-level module into a directory on sys.path; forgotten afterwards."""
    directory = tmp_path / "modules"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    written = []

    def write(name: str, source: str) -> str:
        (directory / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    _forget_modules(*written)


@pytest.fixture
def installed_example(tmp_path, monkeypatch, third_party):
    """An installed distribution advertising the example plugin: a real ``*.dist-info`` on sys.path."""
    site = tmp_path / "site"
    dist_info = site / f"{EXAMPLE_DIST.replace('-', '_')}-{EXAMPLE_VERSION}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {EXAMPLE_DIST}\nVersion: {EXAMPLE_VERSION}\n")
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nexample = {EXAMPLE_MODULE}\n")
    monkeypatch.syspath_prepend(str(site))
    return site


def _report(pm: PluginManager) -> dict:
    return {entry["name"]: entry for entry in pm.report()}


# ------------------------------------------------------------------------ built-in plugins
def test_builtin_entry_points_all_load_and_register_the_core_components():
    pm = PluginManager()
    report = _report(pm)
    assert set(BUILTIN) <= set(report), f"not discovered: {sorted(set(BUILTIN) - set(report))}"
    for name, module in BUILTIN.items():
        info = pm.plugins[name]
        assert (info.status, info.error) == ("loaded", None), f"{name}: {info.status} {info.error}"
        assert info.module == module and info.builtin
        assert (info.distribution, info.version) == ("mava", mava_core.__version__)
        hooks = [
            caller.name for caller in pm._pm.get_hookcallers(pm._pm.get_plugin(name)) if caller.name != "mava_register"
        ]
        assert report[name]["registers"] or hooks, f"built-in plugin {name} registers nothing and implements no hook"
    expected_owners = {
        ("system", "madqn"): "madqn",
        ("environment", "pettingzoo"): "pettingzoo",
        ("environment", "debug"): "debugging_envs",
        ("backend", "local"): "local_backend",
        ("backend", "launchpad"): "launchpad_backend",
    }
    for (kind, name), plugin in expected_owners.items():
        assert pm.registry.entry(kind, name).plugin == plugin
    assert "system:madqn" in report["madqn"]["registers"]
    assert pm.registry.kinds() == list(CORE_KINDS) + ["mixer"]  # value_decomposition declares its mixers' kind


def test_importing_core_and_loading_plugins_imports_no_heavy_dependency():
    code = "import sys, mava_core; mava_core.PluginManager(); assert 'tensorflow' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # the other optional stacks are lazy too: plugins register "module:attr" strings
    heavy = ("tensorflow", "reverb", "launchpad", "sonnet", "pettingzoo", "mpe2", "matplotlib")
    code = (
        "import sys, mava_core; pm = mava_core.PluginManager(); "
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}); "
        "print(len(pm.plugins)); assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= len(BUILTIN)


# ---------------------------------------------------------------------- third-party plugins
def test_third_party_plugin_from_entry_point_objects(third_party):
    pm = PluginManager(entry_points=[_entry_point("example", EXAMPLE_MODULE)])
    info = pm.plugins["example"]
    assert (info.status, info.module, info.builtin, info.distribution) == ("loaded", EXAMPLE_MODULE, False, None)
    assert _report(pm)["example"]["registers"] == ["environment:example"]
    entry = pm.registry.entry("environment", "example")
    assert entry.plugin == "example" and "coin_game" in entry.description
    # registered lazily: the family's module is imported by the first get(), not by loading
    assert f"{EXAMPLE_MODULE}.coin_game" not in sys.modules
    family = pm.registry.get("environment", "example")
    assert family.__module__ == f"{EXAMPLE_MODULE}.coin_game"
    assert family.tasks() == ["coin_game"]
    # only the given entry points were loaded
    assert pm.registry.names("system") == []


def _random_episode(environment, seed: int):
    spec = environment.multi_agent_spec()
    rng = np.random.default_rng(seed)
    timestep = environment.reset()
    steps = [timestep]
    while not timestep.last():
        actions = {aid: np.int32(rng.integers(spec.agents[aid].num_actions)) for aid in spec.agent_ids}
        timestep = environment.step(actions)
        steps.append(timestep)
    return steps


def test_third_party_environment_builds_and_steps(third_party):
    pm = PluginManager(entry_points=[_entry_point("example", EXAMPLE_MODULE)])
    family = pm.registry.get("environment", "example")
    environment = ContractCheckedEnvironment(family.make("coin_game", seed=0), name="example:coin_game")
    spec = environment.multi_agent_spec()
    assert spec.agent_ids == ["agent_0", "agent_1"] and spec.discrete
    assert spec.agents["agent_0"].num_actions == 5
    assert environment.get_state().shape == spec.state.shape

    steps = _random_episode(environment, seed=1)
    first, last = steps[0], steps[-1]
    assert first.step_type == dm_env.StepType.FIRST
    assert first.reward == {"agent_0": 0.0, "agent_1": 0.0}
    assert all(ts.step_type == dm_env.StepType.MID for ts in steps[1:-1])
    assert last.step_type == dm_env.StepType.LAST and len(steps) == 21  # max_steps=20, truncated
    assert all(isinstance(r, np.float32) for ts in steps[1:] for r in ts.reward.values())
    assert last.discount == {"agent_0": 1.0, "agent_1": 1.0}
    for observation in first.observation.values():
        # four one-hot planes: self, other, own coin, other's coin; exactly one coin
        planes = observation.observation.reshape(4, 3, 3)
        assert planes[0].sum() == planes[1].sum() == 1.0 and planes[2:].sum() == 1.0
    assert set(environment.metrics()) == {"coins", "own_coin_fraction"}

    # deterministic under its seed
    again = _random_episode(family.make("coin_game", seed=0), seed=1)
    assert [ts.reward for ts in again] == [ts.reward for ts in steps]
    for a, b in zip(again, steps):
        for agent in spec.agent_ids:
            np.testing.assert_array_equal(a.observation[agent].observation, b.observation[agent].observation)

    with pytest.raises(UnknownNameError, match=r"unknown example task 'dice'; available: coin_game"):
        family.make("dice")
    with pytest.raises(
        MavaError, match=r"config key 'env.size': unknown option for example:coin_game; valid options: grid, max_steps"
    ):
        family.make("coin_game", size=4)


def test_third_party_plugin_discovered_from_installed_distribution(installed_example, monkeypatch, capsys, tmp_path):
    pm = PluginManager()  # default loading: importlib.metadata entry points on sys.path
    report = _report(pm)
    assert report["example"] == {
        "name": "example",
        "module": EXAMPLE_MODULE,
        "distribution": EXAMPLE_DIST,
        "version": EXAMPLE_VERSION,
        "status": "loaded",
        "error": None,
        "registers": ["environment:example"],
    }
    assert set(BUILTIN) <= set(report)  # the built-ins load beside it

    monkeypatch.setattr(plugins, "_DEFAULT", pm)
    assert cli.main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "example  [plugin: example]" in out.splitlines()
    assert "  example:coin_game" in out.splitlines()
    assert "  debug:two_step" in out.splitlines()

    assert cli.main(["plugins"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("example "))
    assert EXAMPLE_VERSION in line and "loaded" in line and "environment:example" in line

    # the whole stack accepts the new family: a system validated against its spec
    builder = SystemBuilder(
        RunConfig(environment="example:coin_game", run_dir=str(tmp_path / "run")), plugin_manager=pm
    )
    assert builder.env_spec.agent_ids == ["agent_0", "agent_1"]


def test_third_party_plugin_discovered_by_the_console_script(installed_example):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(installed_example), str(THIRD_PARTY), env.get("PYTHONPATH", "")])
    mava = Path(sys.executable).with_name("mava")
    result = subprocess.run([str(mava), "envs", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["example"]["tasks"] == ["coin_game"] and listing["example"]["plugin"] == "example"
    result = subprocess.run([str(mava), "plugins", "--json"], capture_output=True, text=True, env=env, timeout=120)
    example = next(p for p in json.loads(result.stdout) if p["name"] == "example")
    assert (example["distribution"], example["version"]) == (EXAMPLE_DIST, EXAMPLE_VERSION)


# ----------------------------------------------------------------------------- blocking
def test_blocked_plugin_is_reported_and_its_components_are_unknown():
    pm = PluginManager(blocked=["madqn"])
    report = _report(pm)
    assert report["madqn"]["status"] == "blocked" and report["madqn"]["registers"] == []
    assert report["madqn"]["module"] == BUILTIN["madqn"]
    assert all(report[name]["status"] == "loaded" for name in BUILTIN if name != "madqn")
    others = pm.registry.names("system")
    assert "madqn" not in others and not any(entry.plugin == "madqn" for entry in pm.registry.entries())
    with pytest.raises(UnknownNameError) as caught:
        pm.registry.get("system", "madqn")
    assert str(caught.value) == f"unknown system 'madqn'; available: {', '.join(others) or '(none registered)'}"


def test_block_plugins_environment_variable(monkeypatch):
    monkeypatch.setenv("MAVA_BLOCK_PLUGINS", " madqn , launchpad_backend,")
    pm = PluginManager()
    assert pm.blocked == {"madqn", "launchpad_backend"}
    assert pm.plugins["madqn"].status == pm.plugins["launchpad_backend"].status == "blocked"
    with pytest.raises(UnknownNameError, match=r"unknown system 'madqn'"):
        pm.registry.get("system", "madqn")
    with pytest.raises(UnknownNameError, match=r"^unknown backend 'launchpad'; available: local, ray$"):
        pm.registry.get("backend", "launchpad")
    # a blocked plugin registered programmatically is skipped too
    assert pm.register(object(), name="madqn") == "madqn"
    assert pm.plugins["madqn"].status == "blocked"


def test_blocked_plugin_is_never_imported():
    code = (
        "import sys, mava_core; pm = mava_core.PluginManager(); "
        "assert pm.plugins['madqn'].status == 'blocked'; "
        "assert 'mava_plugins.systems.madqn.plugin' not in sys.modules, 'blocked plugin was imported'"
    )
    env = dict(os.environ, MAVA_BLOCK_PLUGINS="madqn")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------ broken plugins
BROKEN_SOURCE = """
    import frobnicate_not_installed  # noqa: F401 - the point of this plugin

    from mava_core.hookspecs import hookimpl


    @hookimpl
    def mava_register(registry):
        registry.add("system", "broken_system", object())
"""
BROKEN_ERROR = "ModuleNotFoundError: No module named 'frobnicate_not_installed'"


def test_plugin_that_fails_to_import_is_reported_and_others_still_load(write_module, monkeypatch, capsys):
    monkeypatch.delenv("MAVA_STRICT_PLUGINS", raising=False)
    module = write_module("mava_test_broken_plugin", BROKEN_SOURCE)
    pm = PluginManager(entry_points=_builtin_entry_points() + [_entry_point("broken", module)])
    info = pm.plugins["broken"]
    assert (info.status, info.error) == ("failed", BROKEN_ERROR)
    assert all(pm.plugins[name].status == "loaded" for name in BUILTIN)
    assert "madqn" in pm.registry.names("system")
    assert _report(pm)["broken"]["registers"] == []

    monkeypatch.setattr(plugins, "_DEFAULT", pm)
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert f"error: {BROKEN_ERROR}" in out
    assert any(line.startswith("broken ") and " failed " in line for line in out.splitlines())


@pytest.mark.parametrize("how", ["env", "argument"])
def test_strict_mode_makes_a_broken_plugin_fatal(write_module, monkeypatch, how):
    module = write_module("mava_test_broken_plugin", BROKEN_SOURCE)
    eps = _builtin_entry_points() + [_entry_point("broken", module)]
    if how == "env":
        monkeypatch.setenv("MAVA_STRICT_PLUGINS", "1")
        kwargs = {}
    else:
        monkeypatch.delenv("MAVA_STRICT_PLUGINS", raising=False)
        kwargs = {"strict": True}
    with pytest.raises(PluginError) as caught:
        PluginManager(entry_points=eps, **kwargs)
    assert str(caught.value) == f"plugin 'broken' ({module}) failed to load: {BROKEN_ERROR}"
    assert isinstance(caught.value.__cause__, ImportError)


def test_strict_flags(write_module, monkeypatch):
    module = write_module("mava_test_broken_plugin", BROKEN_SOURCE)
    eps = [_entry_point("broken", module)]
    monkeypatch.setenv("MAVA_STRICT_PLUGINS", "0")
    assert PluginManager(entry_points=eps).plugins["broken"].status == "failed"
    monkeypatch.setenv("MAVA_STRICT_PLUGINS", "1")
    assert PluginManager(entry_points=eps, strict=False).plugins["broken"].status == "failed"
    # a blocked broken plugin is not imported, so even strict mode does not fail
    assert PluginManager(entry_points=eps, blocked=["broken"]).plugins["broken"].status == "blocked"


# ----------------------------------------------------------------------------- conflicts
class _MadqnFork:
    """A plugin claiming a name a built-in already owns."""

    @hookimpl
    def mava_register(self, registry):
        registry.add("system", "madqn", object(), description="a fork of madqn")


def test_two_plugins_registering_the_same_name_is_an_error_naming_both():
    pm = PluginManager()
    with pytest.raises(PluginConflictError) as caught:
        pm.register(_MadqnFork(), name="madqn_fork")
    error = caught.value
    assert (error.kind, error.name, error.first, error.second) == ("system", "madqn", "madqn", "madqn_fork")
    assert str(error) == (
        "system 'madqn' is registered by two plugins: 'madqn' and 'madqn_fork'; "
        "block one of them (MAVA_BLOCK_PLUGINS=madqn_fork) or rename its component"
    )
    assert pm.registry.entry("system", "madqn").plugin == "madqn"  # the first keeps the name


CLASH_SOURCE = """
    from mava_core.hookspecs import hookimpl


    @hookimpl
    def mava_register(registry):
        registry.add("system", "madqn", "mava_plugins.systems.madqn.system:MADQN", description="clash")
"""


def test_conflicting_entry_points_fail_at_start_and_blocking_one_resolves_it(write_module):
    module = write_module("mava_test_clash_plugin", CLASH_SOURCE)
    eps = _builtin_entry_points() + [_entry_point("zz_madqn_fork", module)]
    with pytest.raises(
        PluginConflictError,
        match=r"'madqn' and 'zz_madqn_fork'; block one of them \(MAVA_BLOCK_PLUGINS=zz_madqn_fork\)",
    ):
        PluginManager(entry_points=eps)
    pm = PluginManager(entry_points=eps, blocked=["zz_madqn_fork"])  # what the message suggests
    assert pm.registry.entry("system", "madqn").plugin == "madqn"
    assert pm.plugins["zz_madqn_fork"].status == "blocked"


def test_two_distributions_providing_the_same_plugin_name(write_module):
    module = write_module("mava_test_clash_plugin", CLASH_SOURCE)
    eps = _builtin_entry_points() + [_entry_point("madqn", module)]
    with pytest.raises(
        PluginError,
        match=r"two installed packages provide a plugin named 'madqn': "
        r"mava_plugins\.systems\.madqn\.plugin and mava_test_clash_plugin",
    ):
        PluginManager(entry_points=eps)


# -------------------------------------------------------------------------- bad hooks
class _TypoPlugin:
    @hookimpl
    def mava_register(self, registry):
        registry.add("system", "typo_system", object())

    @hookimpl
    def mava_not_a_hook(self, builder):
        return None


class _GoodPlugin:
    def __init__(self):
        self.configured = 0

    @hookimpl
    def mava_register(self, registry):
        registry.add("exploration", "good_schedule", object())

    @hookimpl
    def mava_configure(self, run):
        self.configured += 1


def test_unknown_hook_implementation_is_an_error_naming_plugin_and_hook():
    pm = PluginManager(load_entry_points=False)
    with pytest.raises(PluginError) as caught:
        pm.register(_TypoPlugin(), name="typo")
    assert str(caught.value).startswith("plugin 'typo' implements unknown hook 'mava_not_a_hook'")
    assert "typo_system" not in pm.registry.names("system")  # rejected before mava_register ran
    assert "typo" not in pm.plugins
    # the rejected plugin leaves no trace: the manager keeps working for the next plugin
    good = _GoodPlugin()
    pm.register(good, name="good")
    assert pm.plugins["good"].status == "loaded"
    assert pm.registry.entry("exploration", "good_schedule").plugin == "good"
    pm.hook.mava_configure(run=RunConfig(), system_config=None)
    assert good.configured == 1


TYPO_MODULE_SOURCE = """
    from mava_core.hookspecs import hookimpl


    @hookimpl
    def mava_regster(registry):
        pass
"""


def test_unknown_hook_in_an_entry_point_plugin_fails_at_start(write_module):
    module = write_module("mava_test_typo_plugin", TYPO_MODULE_SOURCE)
    with pytest.raises(PluginError, match=r"^plugin 'typo' implements unknown hook 'mava_regster'"):
        PluginManager(entry_points=[_entry_point("typo", module)])


def test_hook_implementation_with_wrong_arguments_is_a_plugin_error():
    class WrongArguments:
        @hookimpl
        def mava_configure(self, run, cfg):
            pass

    pm = PluginManager(load_entry_points=False)
    with pytest.raises(PluginError) as caught:
        pm.register(WrongArguments(), name="wrong_args")
    message = str(caught.value)
    assert "'wrong_args'" in message and "'mava_configure'" in message and "cfg" in message
    assert "\n" not in message  # the command line prints it as one line
    assert "wrong_args" not in pm.plugins
    pm.register(_GoodPlugin(), name="good")  # still usable


# ----------------------------------------------------------------------------- registry
def test_registering_an_unknown_kind_lists_the_kinds():
    registry = Registry()
    registry.add("model", "gpt", object(), plugin="llm_plugin")  # checked once every plugin is loaded
    with pytest.raises(MavaError) as caught:
        registry.check_kinds()
    assert (
        str(caught.value) == f"plugin 'llm_plugin' registers unknown kind 'model'; kinds are: {', '.join(CORE_KINDS)}"
    )

    class UnknownKind:
        @hookimpl
        def mava_register(self, registry):
            registry.add("policy", "greedy", object())

    pm = PluginManager(load_entry_points=False)
    with pytest.raises(
        MavaError,
        match=r"^plugin 'unknown_kind' registers unknown kind 'policy'; kinds are: system, environment, backend",
    ):
        pm.register(UnknownKind(), name="unknown_kind")


def test_unknown_name_lists_what_is_available():
    pm = PluginManager()
    systems = pm.registry.names("system")
    assert {"madqn", "qmix", "vdn", "maddpg", "mad4pg", "mappo"} <= set(systems)
    with pytest.raises(UnknownNameError) as caught:
        pm.registry.get("system", "qmix9")
    assert str(caught.value) == f"unknown system 'qmix9'; available: {', '.join(systems)}"
    assert isinstance(caught.value, KeyError) and caught.value.available == systems
    with pytest.raises(UnknownNameError, match=r"^unknown backend 'slurm'; available: launchpad, local, ray$"):
        pm.registry.get("backend", "slurm")
    explorations = ", ".join(pm.registry.names("exploration"))
    with pytest.raises(UnknownNameError, match=rf"^unknown exploration 'boltzmann'; available: {explorations}$"):
        pm.registry.entry("exploration", "boltzmann")


def test_lazy_target_needing_a_missing_package_names_the_extra(write_module, monkeypatch):
    monkeypatch.setitem(sys.modules, "flatland", None)  # as if flatland were not installed
    write_module("mava_test_needs_flatland", "import flatland  # noqa: F401\n\nFamily = object\n")
    write_module("mava_test_needs_unknown", "import zzz_not_a_real_package  # noqa: F401\n\nThing = object\n")
    registry = Registry()
    registry.add_extra("flatland", "flatland", plugin="flatland_envs")  # the plugin names its package's extra
    registry.add("environment", "flatland", "mava_test_needs_flatland:Family", plugin="flatland_envs")
    registry.add("network", "odd", "mava_test_needs_unknown:Thing", plugin="odd_networks")

    with pytest.raises(MissingDependencyError) as caught:
        registry.get("environment", "flatland")
    error = caught.value
    assert (error.package, error.extra) == ("flatland", "flatland")
    assert str(error) == (
        "environment 'flatland' (plugin 'flatland_envs') needs the package 'flatland', which is not installed; "
        "install it with: pip install 'mava[flatland]'"
    )
    assert isinstance(error, MavaError) and isinstance(error, ImportError)

    with pytest.raises(
        MissingDependencyError, match=r"needs the package 'zzz_not_a_real_package'.*pip install zzz_not_a_real_package$"
    ):
        registry.get("network", "odd")


def test_lazy_target_is_imported_on_first_get_and_cached(write_module):
    write_module("mava_test_lazy_target", "class Family:\n    pass\n")
    registry = Registry()
    registry.add("environment", "lazy", "mava_test_lazy_target:Family", plugin="lazy_plugin", description="lazy")
    assert "mava_test_lazy_target" not in sys.modules
    family = registry.get("environment", "lazy")
    assert family.__name__ == "Family" and registry.entry("environment", "lazy").target is family
    assert registry.get("environment", "lazy") is family
    assert [e.plugin for e in registry.entries("environment")] == ["lazy_plugin"]


# ------------------------------------------------- failed plugins are named where they matter
COINGAME_SOURCE = """
    import coin_sim_not_installed  # noqa: F401 - the dependency the user forgot

    from mava_core.hookspecs import hookimpl


    @hookimpl
    def mava_register(registry):
        registry.add("environment", "coingame", object())
"""
COINGAME_ERROR = "ModuleNotFoundError: No module named 'coin_sim_not_installed'"


@pytest.fixture
def installed_broken_coingame(tmp_path, monkeypatch, write_module):
    """A distribution installed on sys.path whose ``coingame`` plugin fails to import."""
    module = write_module("mava_test_coingame_plugin", COINGAME_SOURCE)
    site = tmp_path / "site"
    dist_info = site / "mava_coingame-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: mava-coingame\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ncoingame = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("MAVA_STRICT_PLUGINS", raising=False)
    pm = PluginManager()  # discovers the installed distribution, as `mava` does
    monkeypatch.setattr(plugins, "_DEFAULT", pm)
    return pm


def test_mava_run_names_the_failed_plugin_that_may_provide_an_unknown_name(installed_broken_coingame, capsys):
    assert installed_broken_coingame.plugins["coingame"].status == "failed"
    status = cli.main(["run", "madqn", "coingame:coin_game", "--env-steps", "10"])
    err = capsys.readouterr().err.splitlines()
    assert status == 2
    note = f"plugin 'coingame' failed to load: {COINGAME_ERROR}"
    assert err[0] == f"mava: warning: {note} (`mava plugins` lists every plugin)"
    assert err[1].startswith("mava: error: unknown environment 'coingame'; available: debug, ")
    assert err[1].endswith(f"; {note}") and len(err) == 2


def test_mava_run_warns_about_a_failed_plugin_in_non_strict_mode_whatever_else_happens(
    installed_broken_coingame, capsys
):
    status = cli.main(["run", "madqn", "debug:two_step", "bogus_key=1"])
    err = capsys.readouterr().err.splitlines()
    assert status == 2
    assert (
        err[0]
        == f"mava: warning: plugin 'coingame' failed to load: {COINGAME_ERROR} (`mava plugins` lists every plugin)"
    )
    assert err[1].startswith("mava: error: config key 'bogus_key': unknown key")  # not an unknown name: no note


def test_example_scripts_name_the_failed_plugin_too(installed_broken_coingame, capsys):
    from mava_core.config import RunConfig

    status = cli.run_script(RunConfig(system="madqn", environment="coingame:coin_game"), argv=["--env-steps", "10"])
    err = capsys.readouterr().err.splitlines()
    assert status == 2
    assert err[0].startswith("warning: plugin 'coingame' failed to load: ")
    assert err[1].startswith("error: unknown environment 'coingame'") and err[1].endswith(COINGAME_ERROR)
