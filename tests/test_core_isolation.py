"""The core stands alone: ``mava_core`` imports no plugin, and runs with almost every plugin blocked.

The minimum kept for a run is one environment family (``debugging_envs``), one system
(``madqn``), the plugins registering the components MADQN's config slots name by default
(``architectures``, ``feedforward_networks``, ``exploration``, ``reverb_dataset``) and one
backend (``local_backend``): backends are plugins, and a run needs one to launch. Loggers,
checkpointing, recording, placement, wrappers, the other systems, environments and backends
are blocked; the run then logs nothing (``run.loggers`` empty) and keeps no checkpoints.
"""
from __future__ import annotations

import ast
import json
import os
import pathlib
import subprocess
import sys

import mava_core

CORE = pathlib.Path(mava_core.__file__).parent
REPO = CORE.parent
KEPT = (
    "debugging_envs",
    "madqn",
    "architectures",
    "feedforward_networks",
    "exploration",
    "reverb_dataset",
    "local_backend",
)


def _imported_modules(path: pathlib.Path):
    """(line, module) of every import statement in ``path``, at any depth (functions, TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def test_no_core_module_imports_a_plugin():
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 20  # the walk sees the whole package
    offending = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for path in modules
        for line, name in _imported_modules(path)
        if name == "mava_plugins" or name.startswith("mava_plugins.")
    ]
    assert not offending, "the core must reach plugins through hooks and the registry: " + "; ".join(offending)


def test_every_core_module_imports_while_no_plugin_package_can_be_imported():
    code = """
import importlib, pkgutil, sys

class NoPlugins:
    def find_spec(self, name, path=None, target=None):
        if name == "mava_plugins" or name.startswith("mava_plugins."):
            raise ImportError(f"blocked for this test: {name}")

sys.meta_path.insert(0, NoPlugins())
import mava_core
names = [m.name for m in pkgutil.walk_packages(mava_core.__path__, "mava_core.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 20


RUN = """
import json, sys
from mava_core.config import RunConfig
from mava_core.plugins import get_plugin_manager
from mava_core.system import SystemBuilder

pm = get_plugin_manager()
run = RunConfig(
    system="madqn", environment="debug:two_step", env_steps=200, eval_every=200, eval_episodes=2,
    random_baseline_episodes=0, loggers=(), run_dir=sys.argv[1],
)
small = {"dataset.min_size": 40, "dataset.batch_size": 8, "network.hidden_sizes": "8"}
summary = SystemBuilder(run, overrides=small).launch()
print(json.dumps({
    "summary": {key: summary[key] for key in ("env_steps", "trainer_steps", "final_mean_return")},
    "status": {name: info.status for name, info in pm.plugins.items()},
    "plugin_modules": sorted(m for m in sys.modules if m.startswith("mava_plugins.")),
}))
"""


def test_the_core_runs_with_every_builtin_plugin_blocked_but_the_minimum(tmp_path):
    from test_plugin_manager import BUILTIN  # the built-in plugins setup.py declares

    blocked = sorted(set(BUILTIN) - set(KEPT))
    assert {"loggers", "recording", "placement", "checkpointing", "launchpad_backend", "pettingzoo"} <= set(blocked)
    env = {**os.environ, "MAVA_BLOCK_PLUGINS": ",".join(blocked), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MAVA_STRICT_PLUGINS", None)
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", RUN, str(run_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["summary"]["env_steps"] >= 200 and report["summary"]["trainer_steps"] > 0
    assert {name for name, status in report["status"].items() if status == "loaded"} == set(KEPT)
    packages = {".".join(module.split(".")[:2]) for module in report["plugin_modules"]}
    for blocked_package in ("loggers", "recording", "placement", "checkpointing", "wrappers"):
        assert f"mava_plugins.{blocked_package}" not in packages  # never imported, not even by the core
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "logs").exists()
    assert json.loads((run_dir / "config.json").read_text())["run"]["loggers"] == []
    assert "checkpoint" not in json.loads((run_dir / "config.json").read_text())["run"]  # no plugin declared it
