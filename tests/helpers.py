"""Shared test helpers: tiny seeded runs on a fresh plugin manager."""
from __future__ import annotations

import csv
import os
from typing import Dict, List, Optional, Sequence

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder


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
    )
    builder = SystemBuilder(run, overrides=overrides or {}, plugin_manager=plugin_manager or PluginManager())
    return builder.launch(), builder


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
        summary = SystemBuilder(run, overrides=overrides or {}, plugin_manager=PluginManager()).launch()
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
