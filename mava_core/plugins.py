"""The plugin manager: one pluggy manager for built-in and third-party plugins alike.

Plugins are modules (or objects) with ``@hookimpl`` functions, advertised in the ``mava``
entry-point group. Loading rules:

* a plugin that fails to import is recorded as ``failed`` with its error and skipped;
  ``MAVA_STRICT_PLUGINS=1`` makes that fatal;
* plugins named in ``MAVA_BLOCK_PLUGINS`` (comma separated) or passed as ``blocked=`` are
  not imported at all;
* two plugins registering the same component name is an error naming both;
* a hook implementation whose name matches no hook specification is an error at start-up;
* each plugin's ``mava_add_run_options`` declares its ``run.KEY`` settings
  (:attr:`PluginManager.run_options`) and its ``mava_register`` its components, component
  kinds and pip extras; registrations of a kind nobody declared are an error once every
  plugin is loaded (so load order does not matter).
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import os
from typing import Any, Dict, Iterable, List, Optional

import pluggy

from mava_core import hookspecs
from mava_core.config import RunOption, RunOptions
from mava_core.errors import MavaError, PluginError
from mava_core.registry import PluginRegistry, Registry

LOADED, BLOCKED, FAILED = "loaded", "blocked", "failed"
#: the distribution whose plugins ``mava plugins`` marks as built in
_OWN_DISTRIBUTION = "mava"


@dataclasses.dataclass
class PluginInfo:
    """What ``mava plugins`` reports about one plugin."""

    name: str
    module: str
    distribution: Optional[str] = None
    version: Optional[str] = None
    status: str = LOADED
    error: Optional[str] = None
    builtin: bool = False

    def as_dict(self, registry: Registry) -> Dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "registers": [f"{r.kind}:{r.name}" for r in registry.by_plugin(self.name)],
        }


def _env_list(name: str) -> List[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


class PluginManager:
    """Loads plugins, holds the component registry and exposes the hook relay as ``.hook``."""

    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        blocked: Iterable[str] = (),
        strict: Optional[bool] = None,
        entry_points: Optional[Iterable[importlib.metadata.EntryPoint]] = None,
    ):
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self.registry = Registry()
        #: ``run.KEY`` settings the plugins declared (``mava_add_run_options``), by key
        self.run_options: Dict[str, RunOption] = {}
        self.plugins: Dict[str, PluginInfo] = {}
        self._loading = False
        self.blocked = set(blocked) | set(_env_list("MAVA_BLOCK_PLUGINS"))
        self.strict = strict if strict is not None else os.environ.get("MAVA_STRICT_PLUGINS", "") not in ("", "0")

        from mava_core import defaults

        self._pm.register(defaults, name="mava_core.defaults")
        if load_entry_points or entry_points is not None:
            eps = entry_points
            if eps is None:
                eps = importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)
            self._loading = True
            try:
                for ep in sorted(eps, key=lambda e: e.name):
                    self._load_entry_point(ep)
            finally:
                self._loading = False
            self.registry.check_kinds()
        self.check_hooks()

    # ------------------------------------------------------------------ loading
    @property
    def hook(self) -> Any:
        return self._pm.hook

    def _load_entry_point(self, ep: importlib.metadata.EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
            builtin=dist is not None and dist.metadata["Name"] == _OWN_DISTRIBUTION,
        )
        if ep.name in self.plugins:
            raise PluginError(
                f"two installed packages provide a plugin named {ep.name!r}: "
                f"{self.plugins[ep.name].module} and {ep.value}"
            )
        self.plugins[ep.name] = info
        if ep.name in self.blocked:
            info.status = BLOCKED
            return
        try:
            plugin = ep.load()
        except Exception as error:  # noqa: BLE001 - any import failure is reported by name
            info.status = FAILED
            info.error = f"{type(error).__name__}: {' '.join(str(error).split())}"  # one line
            if self.strict:
                raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to load: {info.error}") from error
            return
        self.register(plugin, name=ep.name, info=info)

    def register(self, plugin: Any, name: Optional[str] = None, info: Optional[PluginInfo] = None) -> str:
        """Register a plugin object or module directly (used by tests and by programmatic users)."""
        name = name or getattr(plugin, "__name__", None) or repr(plugin)
        if name in self.blocked:
            self.plugins.setdefault(name, PluginInfo(name, getattr(plugin, "__name__", repr(plugin)), status=BLOCKED))
            return name
        try:
            self._pm.register(plugin, name=name)
        except pluggy.PluginValidationError as error:  # e.g. an argument the hook does not have
            raise PluginError(" ".join(str(error).split())) from error
        try:
            self.check_hooks()
        except PluginError:
            self._pm.unregister(name=name)  # a rejected plugin must not poison later registrations
            raise
        self.plugins[name] = info or PluginInfo(name, getattr(plugin, "__name__", repr(plugin)))
        try:
            add_run_options = getattr(plugin, "mava_add_run_options", None)
            if add_run_options is not None:
                add_run_options(options=RunOptions(self.run_options, name))
            register = getattr(plugin, "mava_register", None)
            if register is not None:
                register(registry=PluginRegistry(self.registry, name))
            if not self._loading:
                self.registry.check_kinds()
        except MavaError:
            self._forget(name)
            raise
        return name

    def _forget(self, name: str) -> None:
        """Undo a plugin that was refused while registering, so it cannot poison later ones."""
        self._pm.unregister(name=name)
        self.plugins.pop(name, None)
        self.registry.forget_plugin(name)
        for key in [key for key, option in self.run_options.items() if option.plugin == name]:
            del self.run_options[key]

    def failures(self) -> List[PluginInfo]:
        """Plugins that failed to load (non-strict mode), by name."""
        return [info for info in sorted(self.plugins.values(), key=lambda i: i.name) if info.status == FAILED]

    def failure_note(self) -> str:
        """One line naming every plugin that failed to load and why, or ``""`` when none did."""
        return "; ".join(f"plugin {info.name!r} failed to load: {info.error}" for info in self.failures())

    def check_hooks(self) -> None:
        """Fail on hook implementations that match no specification (typos, stale plugins)."""
        for name in self._pm.hook.__dict__:
            if name.startswith("_"):
                continue
            caller = getattr(self._pm.hook, name)
            if not caller.has_spec():
                for impl in caller.get_hookimpls():
                    raise PluginError(
                        f"plugin {impl.plugin_name!r} implements unknown hook {name!r}; "
                        f"known hooks start with 'mava_' and are listed in docs/hooks.md"
                    )

    def report(self) -> List[Dict[str, Any]]:
        return [info.as_dict(self.registry) for info in sorted(self.plugins.values(), key=lambda i: i.name)]


_DEFAULT: Optional[PluginManager] = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loaded from entry points on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = PluginManager()
    return _DEFAULT


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests use a fresh one each)."""
    global _DEFAULT
    _DEFAULT = None

