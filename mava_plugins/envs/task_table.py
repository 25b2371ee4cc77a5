"""The part every fixed-task environment family shares: its task table, listed and looked up.

A family whose tasks are the keys of one mapping subclasses :class:`TaskTableFamily`, sets
``name``, ``default_task`` and ``task_table`` (and ``task_word`` when its tasks go by
another name, such as SMAC's maps), and gets ``tasks()`` and ``task_entry(task)``, which
refuses an unknown task with every available one listed.
"""
from __future__ import annotations

from typing import Any, ClassVar, List, Mapping

from mava_core.errors import UnknownNameError


class TaskTableFamily:
    """Listing and lookup of a family's tasks; subclasses provide ``make``."""

    name: ClassVar[str]
    default_task: ClassVar[str]
    task_table: ClassVar[Mapping[str, Any]]
    task_word: ClassVar[str] = "task"

    @classmethod
    def tasks(cls) -> List[str]:
        return list(cls.task_table)

    @classmethod
    def task_entry(cls, task: str) -> Any:
        """The table's entry for ``task``; an unknown task names the family and lists the others."""
        if task not in cls.task_table:
            raise UnknownNameError(f"{cls.name} {cls.task_word}", task, cls.tasks())
        return cls.task_table[task]
