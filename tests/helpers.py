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
