"""Shared test helpers: tiny seeded runs on a fresh plugin manager."""
from __future__ import annotations

import csv
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from mava_core import hookimpl
from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.run_context import ContextHooks
from mava_core.system import SystemBuilder


def hooks_outside_a_run(plugin_manager: PluginManager) -> ContextHooks:
    """``plugin_manager``'s hooks as a run's nodes call them (``context`` passed, here None), for
    core objects a test builds without a run; the bare relay would leave ``context`` out."""
    return ContextHooks(plugin_manager.hook, None)


def trainer_hooks(builder: SystemBuilder) -> ContextHooks:
    """The hook relay of ``builder``'s trainer node, as a run's trainer uses it."""
    return builder.hooks_for(builder.node_context("trainer", "trainer"))


def local_run(
    run_dir,
    system: str,
    environment: str,
    env_steps: int,
    overrides: Optional[Dict[str, object]] = None,
    seed: int = 0,
    eval_every: Optional[int] = None,
    eval_episodes: int = 10,
    random_baseline_episodes: int = 20,
    plugin_manager: Optional[PluginManager] = None,
    executors: int = 1,
    env_options: Optional[Dict[str, object]] = None,
    env_wrappers: Sequence[str] = (),
    plugins: Sequence[Any] = (),
):
    """Train on the local backend; returns (summary, builder)."""
    run = RunConfig(
        system=system,
        environment=environment,
        backend="local",
        executors=executors,
        env_steps=env_steps,
        seed=seed,
        eval_every=eval_every or env_steps,
        eval_episodes=eval_episodes,
        random_baseline_episodes=random_baseline_episodes,
        loggers=("csv",),
        run_dir=str(run_dir),
        env_options=dict(env_options or {}),
        env_wrappers=tuple(env_wrappers),
    )
    builder = SystemBuilder(run, overrides=overrides or {}, plugin_manager=plugin_manager or PluginManager(), plugins=plugins)
    return builder.launch(), builder


#: the two-step game as the learning tests play it: each agent's observation carries a one-hot
#: agent id, so agents that share weights can act differently (without it, the greedy joint
#: return can only be 0, 7 or 8)
TWO_STEP_WRAPPERS = ("agent_id",)


def two_step_run(run_dir, system: str, overrides: Dict[str, object], seed: int, env_steps: int = 2_000,
                 random_baseline_episodes: int = 1, plugins: Sequence[Any] = ()):
    """A seeded local run on ``debug:two_step`` with agent ids, evaluated (2 greedy episodes) every 500 steps from 0."""
    summary, _ = local_run(
        run_dir, system, "debug:two_step", env_steps=env_steps, overrides=overrides, seed=seed, eval_every=500,
        eval_episodes=2, random_baseline_episodes=random_baseline_episodes, env_wrappers=TWO_STEP_WRAPPERS, plugins=plugins,
    )
    return summary


def assert_training_changed_the_outcome(summary, expected: float, seed: int) -> None:
    """The untrained greedy policy (evaluated at 0 steps) did not score ``expected``; the trained one settled on it.

    The game is deterministic, so a greedy evaluation is exact. The seeds the tests use were
    chosen so that the untrained policy scores something else; the first assertion checks
    that here, so that a pass cannot come from the initial weights alone.
    """
    evaluations = summary["evaluations"]
    untrained = evaluations[0]
    assert untrained["env_steps"] == 0, evaluations
    assert untrained["mean_return"] != expected, (
        f"the untrained greedy policy of seed {seed} already scores {expected}: this seed cannot show learning"
    )
    # settled, not passing through: the last two evaluations (1,500 steps and the end) agree
    assert [e["mean_return"] for e in evaluations[-2:]] == [expected, expected], evaluations


def read_csv(path) -> List[Dict[str, str]]:
    with open(path) as handle:
        return list(csv.DictReader(handle))


def log_files(run_dir) -> Sequence[str]:
    return sorted(os.listdir(os.path.join(run_dir, "logs")))


#: set in the environment of every Launchpad test run; its node processes inherit it
LAUNCHPAD_MARKER = "MAVA_TEST_RUN_MARKER"


def processes_with_marker(value: str):
    """Live processes (other than this one) whose environment carries ``LAUNCHPAD_MARKER=value``."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid"]):
        if process.pid == os.getpid():
            continue
        try:
            if process.environ().get(LAUNCHPAD_MARKER) == value:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def node_process_group(process, marker: str):
    """The Launchpad node group of ``process`` when it is a node's Python process of the run carrying ``marker``.

    None for other processes, including the shell and ``sed`` wrappers Launchpad puts around
    each node (they carry the node's environment too).
    """
    from mava_plugins.backends.launchpad_backend import NODE_GROUP_VARIABLE

    environ = process.environ()
    if environ.get(LAUNCHPAD_MARKER) != marker or NODE_GROUP_VARIABLE not in environ:
        return None
    command = process.cmdline()
    if len(command) < 2 or not command[1].endswith("process_entry.py"):  # python .../process_entry.py --data_file ...
        return None
    return environ[NODE_GROUP_VARIABLE]


def launchpad_run(run_dir, system: str, environment: str, env_steps: int, overrides: Optional[Dict[str, object]] = None, **kwargs):
    """:func:`backend_run` under Launchpad; returns (summary, trainer CSV rows)."""
    return backend_run(run_dir, system, environment, env_steps, overrides, backend="launchpad", **kwargs)


def backend_run(
    run_dir,
    system: str,
    environment: str,
    env_steps: int,
    overrides: Optional[Dict[str, object]] = None,
    env_options: Optional[Dict[str, object]] = None,
    executors: int = 2,
    eval_episodes: int = 1,
    loggers: Sequence[str] = ("csv",),
    eval_every: Optional[int] = None,
    backend: str = "launchpad",
    plugins: Sequence[Any] = (),
):
    """Train on ``backend`` and check what every run owes; returns (summary, trainer CSV rows).

    Checked here: the budget was reached, the trainer took steps, every executor and the
    trainer wrote logs, the program file was removed, and no process of the run survives.
    """
    import uuid

    marker = uuid.uuid4().hex
    previous = os.environ.get(LAUNCHPAD_MARKER)
    os.environ[LAUNCHPAD_MARKER] = marker  # inherited by the launcher and every node it starts
    try:
        run = RunConfig(
            system=system,
            environment=environment,
            backend=backend,
            executors=executors,
            env_steps=env_steps,
            seed=1,
            eval_every=eval_every or env_steps,
            eval_episodes=eval_episodes,
            random_baseline_episodes=1,
            loggers=tuple(loggers),
            run_dir=str(run_dir),
            log_every_seconds=0.0,
            env_options=dict(env_options or {}),
        )
        summary = SystemBuilder(run, overrides=overrides or {}, plugin_manager=PluginManager(), plugins=plugins).launch()
    finally:
        if previous is None:
            os.environ.pop(LAUNCHPAD_MARKER, None)
        else:
            os.environ[LAUNCHPAD_MARKER] = previous
    assert (summary["system"], summary["backend"]) == (system, backend)
    assert summary["env_steps"] >= env_steps
    assert summary["trainer_steps"] > 0
    logs = os.path.join(run_dir, "logs")
    expected = [f"executor_{index}.csv" for index in range(executors)] + ["trainer.csv", "evaluator.csv"]
    missing = [name for name in expected if not os.path.exists(os.path.join(logs, name))]
    assert not missing, f"missing logs {missing}; have {sorted(os.listdir(logs))}"
    assert not os.path.exists(os.path.join(run_dir, ".launchpad_program.pkl"))
    leftovers = processes_with_marker(marker)
    assert not leftovers, f"processes left running: {[(p.pid, p.cmdline()) for p in leftovers]}"
    trainer_rows = read_csv(os.path.join(logs, "trainer.csv"))
    assert trainer_rows and int(float(trainer_rows[-1]["trainer_steps"])) > 0
    return summary, trainer_rows


class ParameterTrace:
    """A plugin object that records, in every acting process, how far pulled parameters moved.

    Each executor and the evaluator keep a copy of the policy parameters of their first pull
    from the trainer; after every later pull they write ``<directory>/<role>_<pid>_<n>.json``
    with the number of pulls and the largest absolute change from that first pull. With the
    optimiser step disabled (``MAVA_DISABLE_OPTIMISER_STEP=1``) the change stays exactly 0.
    The object travels with the run to Launchpad nodes (this module is pickled by value).
    """

    name = "parameter_trace"

    def __init__(self, directory):
        self.directory = str(directory)
        self._first: Dict[int, List[np.ndarray]] = {}

    @hookimpl(hookwrapper=True)
    def mava_executor_update(self, executor, wait):
        client = executor.variable_client
        before = client.updates if client is not None else 0
        yield
        if client is None or client.updates == before:
            return
        # the client's local copies of the policy variables, just assigned from the trainer
        values = [np.array(variable.numpy()) for group in client._groups.values() for variable in group]
        first = self._first.setdefault(id(executor), values)
        change = max((float(np.max(np.abs(a - b))) for a, b in zip(values, first) if a.size), default=0.0)
        role = "evaluator" if executor.is_evaluator else "executor"
        name = f"{role}_{os.getpid()}_{list(self._first).index(id(executor))}.json"
        path = os.path.join(self.directory, name)
        os.makedirs(self.directory, exist_ok=True)
        with open(path + ".tmp", "w") as handle:
            json.dump({"pulls": client.updates, "max_change": change}, handle)
        os.replace(path + ".tmp", path)


def parameter_changes(directory) -> Dict[str, Dict[str, float]]:
    """What :class:`ParameterTrace` recorded: file stem -> {"pulls", "max_change"}."""
    found = {}
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else ():
        if name.endswith(".json"):
            with open(os.path.join(directory, name)) as handle:
                found[name[: -len(".json")]] = json.load(handle)
    return found


def assert_parameters_reached_acting_nodes(directory, executors: int, minimum_change: float = 1e-3) -> None:
    """Every executor and the evaluator pulled parameters that moved by more than ``minimum_change``.

    Fails when training is broken (no optimiser step: the pulled values never change) or when
    parameters stop reaching the acting processes.
    """
    records = parameter_changes(directory)
    roles = sorted(name.split("_")[0] for name in records)
    assert roles == ["evaluator"] + ["executor"] * executors, f"acting processes that pulled twice or more: {records}"
    unchanged = {name: r for name, r in records.items() if not r["max_change"] > minimum_change}
    assert not unchanged, f"parameters that reached these processes never moved by more than {minimum_change}: {unchanged}"


# ParameterTrace objects are pickled with the run for Launchpad nodes, where this module
# (tests/helpers.py) is not importable: pickle it by value
import cloudpickle  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])
