"""A saved run directory: rebuild its builder from ``config.json`` (``--resume``, ``mava evaluate``).

``config.json`` holds both config trees as JSON. :func:`flatten_config` turns them back into
``key=value`` settings in the order the builder applies them (a component's name before its
options), so a saved run is rebuilt through the same overrides and validation as a new one.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

from mava_core import config as cfg
from mava_core.errors import CheckpointError

CONFIG_FILE = "config.json"


def flatten_config(tree: Dict[str, Any]) -> Dict[str, Any]:
    """``{"run.KEY": ..., "env.KEY": ..., "network": "mlp", "network.hidden_sizes": [...]}`` from a config tree."""
    flat: Dict[str, Any] = {}
    for key, value in tree.get("run", {}).items():
        if key == "env_options":
            flat.update({f"env.{name}": option for name, option in (value or {}).items()})
        else:
            flat[f"run.{key}"] = value
    _flatten_system(tree.get("system", {}), "", flat)
    return flat


def _flatten_system(tree: Dict[str, Any], prefix: str, flat: Dict[str, Any]) -> None:
    for key, value in tree.items():
        if isinstance(value, dict) and set(value) == {"kind", "name", "options"}:
            flat[f"{prefix}{key}"] = value["name"]
            if value["options"] is not None:
                _flatten_system(value["options"], f"{prefix}{key}.", flat)
        elif isinstance(value, dict):  # a section, or a free-form mapping
            _flatten_system(value, f"{prefix}{key}.", flat)
        else:
            flat[f"{prefix}{key}"] = value


def read_saved_config(run_dir: str) -> Dict[str, Any]:
    """The run directory's ``config.json``; a missing or unreadable one is a one-line error."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isdir(run_dir):
        raise CheckpointError(f"no run directory {run_dir}")
    try:
        with open(path) as handle:
            tree = json.load(handle)
    except FileNotFoundError:
        raise CheckpointError(f"{run_dir} is not a run directory: it has no {CONFIG_FILE}") from None
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path} is unreadable or not valid JSON: {error}") from None
    if not isinstance(tree, dict) or not isinstance(tree.get("run"), dict) or not isinstance(tree.get("system"), dict):
        raise CheckpointError(f"{path} does not hold a run config ({{'run': ..., 'system': ...}})")
    return tree


def builder_from_run_dir(
    run_dir: str,
    overrides: Iterable[Tuple[str, Any]] = (),
    system: Optional[str] = None,
    environment: Optional[str] = None,
    plugin_manager: Any = None,
    plugins: Sequence[Any] = (),
    resume: bool = False,
):
    """The builder of the run saved in ``run_dir``, with ``overrides`` applied on top.

    ``system`` and ``environment``, when given (e.g. from ``mava run SYSTEM ENV --resume``),
    must be the saved run's. With ``resume`` the builder continues the run's latest
    checkpoint when launched; its checkpointer refuses overrides that are not safe then.
    """
    from mava_core.system import SystemBuilder

    tree = read_saved_config(run_dir)
    saved_run = tree["run"]
    for name, given in (("system", system), ("environment", environment)):
        saved = saved_run.get(name)
        if given is not None and given != saved:
            what = "written by system" if name == "system" else "written on environment"
            this = "this run is" if name == "system" else "this run is on"
            raise CheckpointError(f"checkpoint in {run_dir} was {what} {saved!r}, {this} {given!r}")
    run = cfg.RunConfig(system=saved_run.get("system", ""), environment=saved_run.get("environment", ""))
    settings: Dict[str, Any] = {}
    for key, value in flatten_config(tree).items():
        if key not in ("run.system", "run.environment"):
            settings[key] = value
    for key, value in overrides:
        settings.pop(key, None)  # a changed value goes last, after the component it belongs to
        settings[key] = value
    settings["run.run_dir"] = run_dir
    builder = SystemBuilder(run, overrides=settings, plugin_manager=plugin_manager, plugins=plugins)
    builder.resume = resume
    return builder

