"""The ``pettingzoo`` environment family: PettingZoo tasks wrapped for Mava.

Parallel tasks (all agents act each step) are MPE from ``mpe2`` and butterfly's
knights-archers-zombies; turn-based (AEC) tasks are classic board games, wrapped by
:class:`~mava_plugins.envs.pettingzoo_aec_wrapper.PettingZooAECEnvironment` (one step per turn).
``PettingZooFamily.make(task, seed, **options)`` forwards ``options`` to the task's
PettingZoo constructor after checking their names against its signature; the one option that
is Mava's own, ``direct_step`` (MPE tasks; default true), says whether the wrapper steps
mpe2's turn-based core directly (:mod:`mava_plugins.envs.pettingzoo_direct`). PettingZoo and
mpe2 are imported only when an environment is made.
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Dict, List, Optional, Union

from mava_core.coercion import coerce
from mava_core.errors import ConfigError, MissingDependencyError
from mava_plugins.envs.options import keyword_defaults, reject_unknown_options
from mava_plugins.envs.pettingzoo_aec_wrapper import PettingZooAECEnvironment
from mava_plugins.envs.pettingzoo_wrapper import PettingZooParallelEnvironment
from mava_plugins.envs.task_table import TaskTableFamily

FAMILY = "pettingzoo"
DEFAULT_TASK = "simple_spread_v3"

PARALLEL_API = "parallel"  # the module's ``parallel_env``, wrapped by PettingZooParallelEnvironment
AEC_API = "aec"  # the module's ``env`` (PettingZoo's checking wrappers included), one Mava step per turn


@dataclasses.dataclass(frozen=True)
class Task:
    """A task: the module holding its constructors, which API to use, and default constructor kwargs."""

    module: str
    api: str = PARALLEL_API
    defaults: Dict[str, Any] = dataclasses.field(default_factory=dict)


_MPE_DEFAULTS = {"max_cycles": 25, "continuous_actions": False}
_CLASSIC = "pettingzoo.classic"

#: the family's own option (not a PettingZoo constructor's): step mpe2's turn-based core directly
DIRECT_STEP_OPTION = "direct_step"

#: task name -> Task
TASKS: Dict[str, Task] = {
    "simple_spread_v3": Task("mpe2.simple_spread_v3", defaults=_MPE_DEFAULTS),
    "simple_speaker_listener_v4": Task("mpe2.simple_speaker_listener_v4", defaults=_MPE_DEFAULTS),
    "simple_adversary_v3": Task("mpe2.simple_adversary_v3", defaults=_MPE_DEFAULTS),
    "simple_tag_v3": Task("mpe2.simple_tag_v3", defaults=_MPE_DEFAULTS),
    "simple_reference_v3": Task("mpe2.simple_reference_v3", defaults=_MPE_DEFAULTS),
    "knights_archers_zombies_v11": Task(
        "pettingzoo.butterfly.knights_archers_zombies.knights_archers_zombies", defaults={"obs_method": "vector"}
    ),
    "tictactoe_v3": Task(f"{_CLASSIC}.tictactoe.tictactoe", api=AEC_API),
    "connect_four_v3": Task(f"{_CLASSIC}.connect_four.connect_four", api=AEC_API),
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


class PettingZooFamily(TaskTableFamily):
    """PettingZoo parallel (MPE via ``mpe2``, knights-archers-zombies) and turn-based (classic) tasks."""

    name = FAMILY
    default_task = DEFAULT_TASK
    task_table = TASKS

    @classmethod
    def api(cls, task: str) -> str:
        """``"parallel"`` or ``"aec"`` (turn-based)."""
        return cls.task_entry(task).api

    @classmethod
    def make(
        cls, task: str = DEFAULT_TASK, seed: int = 0, **options: Any
    ) -> Union[PettingZooParallelEnvironment, PettingZooAECEnvironment]:
        """A wrapped PettingZoo env; ``options`` go to the task's constructor (e.g. ``N``, ``max_cycles``)."""
        spec = cls.task_entry(task)
        options = dict(options)
        own = [DIRECT_STEP_OPTION] if spec.api == PARALLEL_API else []
        direct_step = True
        if own and DIRECT_STEP_OPTION in options:
            direct_step = coerce(f"env.{DIRECT_STEP_OPTION}", bool, options.pop(DIRECT_STEP_OPTION))
        module = _import_task_module(task, spec.module)
        valid = constructor_options(module)
        if valid is not None:
            reject_unknown_options(f"{FAMILY}:{task}", options, valid + own)
        kwargs = {**spec.defaults, **options}
        constructor = module.env if spec.api == AEC_API else module.parallel_env
        try:
            env = constructor(**kwargs)
        except (AssertionError, TypeError, ValueError) as error:
            raise ConfigError("env", f"{FAMILY}:{task} rejected options {options}: {error}") from error
        if spec.api == AEC_API:
            return PettingZooAECEnvironment(env, seed=seed, name=f"{FAMILY}:{task}")
        return PettingZooParallelEnvironment(env, seed=seed, name=f"{FAMILY}:{task}", direct_step=direct_step)
