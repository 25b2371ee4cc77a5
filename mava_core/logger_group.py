"""A group of loggers written to together, built from registered ``logger`` components.

Loggers reach the core as registered components (the built-in ones come from the
``loggers`` plugin): the core only fans writes out to whatever names ``run.loggers`` lists.
"""
from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union

from mava_core.contracts import Logger


class LoggerGroup:
    """Fans ``write`` and ``close`` out to every logger in ``loggers``."""

    def __init__(self, loggers: Sequence[Logger]):
        self.loggers: List[Logger] = list(loggers)

    def write(self, values: Mapping[str, Any]) -> None:
        """Write ``values`` to every logger."""
        for logger in self.loggers:
            logger.write(values)

    def close(self) -> None:
        """Close every logger, even if one fails; the first failure is raised afterwards."""
        failure: Optional[BaseException] = None
        for logger in self.loggers:
            try:
                logger.close()
            except Exception as error:  # noqa: BLE001 - close the rest first
                failure = failure or error
        if failure is not None:
            raise failure

    def __enter__(self) -> "LoggerGroup":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def make_loggers(
    names: Union[str, Iterable[str]],
    run_dir: str,
    label: str,
    registry: Any,
    budget: Optional[int] = None,
    every_seconds: float = 5.0,
    resume_at: Optional[int] = None,
) -> LoggerGroup:
    """Build the loggers registered under ``names`` (a list, or a comma-separated string).

    Every name is resolved with ``registry.get("logger", name)`` before any logger is
    built, so an unknown name raises :class:`~mava_core.errors.UnknownNameError` (listing
    the available loggers) without creating files. ``resume_at`` (the env steps of the
    checkpoint a resumed run continues) goes to the loggers whose constructor takes it, so
    they append to what the run logged before instead of starting over.
    """
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",") if name.strip()]
    classes = [registry.get("logger", name) for name in names]
    group = LoggerGroup([])
    try:
        for cls in classes:
            extra = {"resume_at": resume_at} if resume_at is not None and _accepts(cls, "resume_at") else {}
            group.loggers.append(cls(run_dir, label, budget=budget, every_seconds=every_seconds, **extra))
    except BaseException:
        group.close()
        raise
    return group


def _accepts(cls: Any, argument: str) -> bool:
    import inspect

    try:
        return argument in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
