"""Turning override values (often command-line strings) into the types a config field is annotated with.

:func:`coerce` is what ``key=value`` overrides, ``run.env.KEY=VALUE`` options and plugin-declared
run options go through: ``"1e-3"`` becomes a float, ``"a,b"`` a tuple of str, ``"none"`` None for
an Optional field; anything else is a :class:`~mava_core.errors.ConfigError` naming the key and
the type that was expected.
"""
from __future__ import annotations

import json
import typing
from typing import Any, Dict, Mapping, Tuple, Union

from mava_core.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def type_name(annotation: Any) -> str:
    """How an annotation reads in an error message: `int`, `comma-separated list of str`, `float or None`."""
    origin = typing.get_origin(annotation)
    if origin is Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(type_name(a) for a in members) + (
            " or None" if len(members) < len(typing.get_args(annotation)) else ""
        )
    if origin in (tuple, Tuple):
        args = typing.get_args(annotation)
        inner = type_name(args[0]) if args else "value"
        return f"comma-separated list of {inner}"
    if origin in (dict, Dict):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def coerce(key: str, annotation: Any, value: Any) -> Any:
    """Convert ``value`` (often a command-line string) to ``annotation`` or raise ConfigError."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return parse_literal(value) if isinstance(value, str) else value
    if origin is Union:
        args = typing.get_args(annotation)
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() in ("none", "null", ""))):
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(key, arg, value)
            except ConfigError as error:
                errors.append(error)
        raise ConfigError(key, f"expected {type_name(annotation)}, got {value!r}")
    if origin in (tuple, Tuple):
        args = typing.get_args(annotation)
        inner = args[0] if args else Any
        if isinstance(value, str):
            items = [item for item in value.replace("(", "").replace(")", "").split(",") if item.strip()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise ConfigError(key, f"expected {type_name(annotation)}, got {value!r}")
        return tuple(coerce(key, inner, item.strip() if isinstance(item, str) else item) for item in items)
    if origin in (dict, Dict):
        if isinstance(value, Mapping):
            return dict(value)
        raise ConfigError(key, f"expected a mapping, got {value!r}")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ConfigError(key, f"expected bool (true/false), got {value!r}")
    if annotation is int:
        if isinstance(value, bool):
            raise ConfigError(key, f"expected int, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.replace("_", ""))
            except ValueError:
                raise ConfigError(key, f"expected int, got {value!r}") from None
            if number.is_integer():
                return int(number)
        raise ConfigError(key, f"expected int, got {value!r}")
    if annotation is float:
        if isinstance(value, bool):
            raise ConfigError(key, f"expected float, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.replace("_", ""))
            except ValueError:
                pass
        raise ConfigError(key, f"expected float, got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(key, f"expected str, got {value!r}")
    return value


def parse_literal(value: str) -> Any:
    """A command-line string as JSON where it parses (numbers, lists, mappings), else true/false, else the string."""
    try:
        return json.loads(value)
    except (ValueError, TypeError):
        lowered = value.lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        return value
