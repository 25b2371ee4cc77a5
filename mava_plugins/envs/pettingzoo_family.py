"""The ``pettingzoo`` environment family: MPE tasks from ``mpe2``, wrapped for Mava.

``PettingZooFamily.make(task, seed, **options)`` forwards ``options`` to the task's
PettingZoo constructor after checking their names against its signature. PettingZoo and
mpe2 are imported only when an environment is made.
"""
from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional, Tuple

from mava_core.errors import ConfigError, MissingDependencyError, UnknownNameError
from mava_plugins.envs.options import keyword_defaults, reject_unknown_options
from mava_plugins.envs.pettingzoo_wrapper import PettingZooParallelEnvironment

FAMILY = "pettingzoo"
DEFAULT_TASK = "simple_spread_v3"

_MPE_DEFAULTS = {"max_cycles": 25, "continuous_actions": False}

#: task name -> (module with ``parallel_env``/``raw_env``, default constructor kwargs)
TASKS: Dict[str, Tuple[str, Dict[str, Any]]] = {
    "simple_spread_v3": ("mpe2.simple_spread_v3", dict(_MPE_DEFAULTS)),
    "simple_speaker_listener_v4": ("mpe2.simple_speaker_listener_v4", dict(_MPE_DEFAULTS)),
    "simple_adversary_v3": ("mpe2.simple_adversary_v3", dict(_MPE_DEFAULTS)),
    "simple_tag_v3": ("mpe2.simple_tag_v3", dict(_MPE_DEFAULTS)),
    "simple_reference_v3": ("mpe2.simple_reference_v3", dict(_MPE_DEFAULTS)),
}


def _import_task_module(task: str, module_path: str):
    try:
        return importlib.import_module(module_path)
    except ImportError as error:
        package = (error.name or module_path).split(".")[0]
        if package not in ("mpe2", "pettingzoo", "gymnasium", "pygame"):
            package = module_path.split(".")[0]
        raise MissingDependencyError(package, "envs", f"environment {FAMILY}:{task}") from error


def constructor_options(module: Any) -> Optional[List[str]]:
    """Keyword arguments the task's constructor takes, or None when they cannot be read.

    mpe2's ``parallel_env`` only takes ``**kwargs``, so ``raw_env``'s signature is read first.
    """
    for attribute in ("raw_env", "parallel_env"):
        constructor = getattr(module, attribute, None)
        defaults = keyword_defaults(constructor) if constructor is not None else None
        if defaults is not None:
            return list(defaults)
    return None


class PettingZooFamily:
    """PettingZoo parallel environments (MPE via ``mpe2``) as Mava environments."""

    name = FAMILY
    default_task = DEFAULT_TASK

    @classmethod
    def tasks(cls) -> List[str]:
        return list(TASKS)

    @classmethod
    def make(cls, task: str = DEFAULT_TASK, seed: int = 0, **options: Any) -> PettingZooParallelEnvironment:
        """A wrapped PettingZoo env; ``options`` go to the task's constructor (e.g. ``N``, ``max_cycles``)."""
        if task not in TASKS:
            raise UnknownNameError(f"{FAMILY} task", task, cls.tasks())
        module_path, defaults = TASKS[task]
        module = _import_task_module(task, module_path)
        valid = constructor_options(module)
        if valid is not None:
            reject_unknown_options(f"{FAMILY}:{task}", options, valid)
        kwargs = {**defaults, **options}
        try:
            env = module.parallel_env(**kwargs)
        except (AssertionError, TypeError, ValueError) as error:
            raise ConfigError("env", f"{FAMILY}:{task} rejected options {options}: {error}") from error
        return PettingZooParallelEnvironment(env, seed=seed, name=f"{FAMILY}:{task}")
