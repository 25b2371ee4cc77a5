"""Checking the ``env.KEY=VALUE`` options a run passes to an environment family's ``make``.

Every family reports an unknown option the same way (the key, the task, the valid options),
and families that forward options to a third-party constructor read the valid names from
its signature.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Iterable, Mapping, Optional

from mava_core.errors import ConfigError


def keyword_defaults(constructor: Any, exclude: Iterable[str] = ("self",)) -> Optional[Dict[str, Any]]:
    """A constructor's keyword parameters and their defaults; None when it takes ``**kwargs``
    or its signature cannot be read (then options cannot be checked by name)."""
    try:
        parameters = list(inspect.signature(constructor).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    excluded = set(exclude)
    return {p.name: p.default for p in parameters if p.kind in keyword and p.name not in excluded}


def reject_unknown_options(environment: str, options: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise ConfigError naming ``env.<key>`` for the first option that ``valid`` does not list."""
    valid = list(valid)
    for key in options:
        if key not in valid:
            listing = ", ".join(valid) if valid else "(none)"
            raise ConfigError(f"env.{key}", f"unknown option for {environment}; valid options: {listing}")
