"""Named components that plugins register: systems, environments, backends and parts of systems.

The core knows the kinds it builds runs from (:data:`CORE_KINDS`); a plugin declares any
other kind it brings (``registry.add_kind("mixer", ...)``) and the pip extra that installs a
package its lazily imported components need (``registry.add_extra("pettingzoo", "envs")``),
both from its ``mava_register``.
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Dict, Iterator, List, Optional, Tuple

from mava_core.errors import MavaError, MissingDependencyError, PluginConflictError, PluginError, UnknownNameError

#: Kinds of component the core itself builds runs from; plugins add their own with ``add_kind``.
CORE_KINDS: Dict[str, str] = {
    "system": "a full algorithm: builds networks, executor policy, trainer, dataset needs",
    "environment": "an environment family: makes family:task environments",
    "backend": "runs a program: local, launchpad, ...",
    "architecture": "how agents' networks see each other (decentralised, centralised, ...)",
    "network": "network factories (Sonnet modules)",
    "exploration": "exploration schedules",
    "dataset": "Reverb table layouts and their adders",
    "logger": "where metrics go",
    "env_wrapper": "observation/reward preprocessing applied to every environment of a run",
}

#: pip extras of the packages the core itself imports (plugins declare theirs with ``add_extra``)
CORE_EXTRAS: Dict[str, str] = {"tensorflow": "tf", "reverb": "reverb"}


@dataclasses.dataclass
class Registration:
    """One registered component: its kind, name, target (object or ``"module:attr"``) and plugin."""

    kind: str
    name: str
    target: Any
    plugin: str
    description: str = ""
    #: package -> pip extra, shared with the registry (names the extra when a lazy import fails)
    extras: Dict[str, str] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def load(self) -> Any:
        """The registered object, importing it first when it was registered as ``"module:attr"``."""
        if isinstance(self.target, str) and ":" in self.target:
            module_name, _, attribute = self.target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as error:
                if isinstance(error, MissingDependencyError):
                    raise
                package = (error.name or module_name).split(".")[0]
                raise MissingDependencyError(
                    package, self.extras.get(package), f"{self.kind} {self.name!r} (plugin {self.plugin!r})"
                ) from error
            self.target = getattr(module, attribute)
        return self.target


class Registry:
    """All registrations, by kind and name, with the kinds and pip extras plugins declared."""

    def __init__(self) -> None:
        self._kinds: Dict[str, Tuple[str, Optional[str]]] = {kind: (text, None) for kind, text in CORE_KINDS.items()}
        self._entries: Dict[str, Dict[str, Registration]] = {kind: {} for kind in CORE_KINDS}
        self.extras: Dict[str, str] = dict(CORE_EXTRAS)
        self._extra_owner: Dict[str, Optional[str]] = {package: None for package in CORE_EXTRAS}

    # ------------------------------------------------------------------ declarations
    def add_kind(self, kind: str, description: str, *, plugin: str) -> None:
        """Declare a component kind (plugins may register components of it, in any load order)."""
        if kind in self._kinds:
            owner = self._kinds[kind][1] or "the core"
            raise PluginError(f"plugin {plugin!r} declares component kind {kind!r}, already declared by {owner}")
        self._kinds[kind] = (description, plugin)
        self._entries.setdefault(kind, {})

    def add_extra(self, package: str, extra: str, *, plugin: str) -> None:
        """Declare that ``pip install 'mava[extra]'`` installs the importable ``package``."""
        known = self.extras.get(package)
        if known is not None and known != extra:
            owner = self._extra_owner.get(package) or "the core"
            raise PluginError(
                f"plugin {plugin!r} says package {package!r} comes with extra {extra!r}; {owner} says {known!r}"
            )
        self.extras[package] = extra
        self._extra_owner.setdefault(package, plugin)

    def kinds(self) -> List[str]:
        """Every declared kind: the core's first, then the plugins' in declaration order."""
        return list(self._kinds)

    def kind_description(self, kind: str) -> str:
        return self._kinds[kind][0]

    def check_kinds(self) -> None:
        """Fail on registrations of a kind no plugin declared, naming the plugin and the known kinds."""
        for kind, entries in self._entries.items():
            if kind not in self._kinds and entries:
                plugin = next(iter(entries.values())).plugin
                raise MavaError(
                    f"plugin {plugin!r} registers unknown kind {kind!r}; kinds are: {', '.join(self.kinds())}"
                )

    def forget_plugin(self, plugin: str) -> None:
        """Drop every registration and declaration of ``plugin`` (a plugin that was refused)."""
        for kind in list(self._entries):
            self._entries[kind] = {n: e for n, e in self._entries[kind].items() if e.plugin != plugin}
        for kind, (_, owner) in list(self._kinds.items()):
            if owner == plugin:
                del self._kinds[kind]

    # ------------------------------------------------------------------ registrations
    def add(self, kind: str, name: str, target: Any, *, plugin: str, description: str = "") -> None:
        existing = self._entries.get(kind, {}).get(name)
        if existing is not None:
            raise PluginConflictError(kind, name, existing.plugin, plugin)
        self._entries.setdefault(kind, {})[name] = Registration(kind, name, target, plugin, description, self.extras)

    def entry(self, kind: str, name: str) -> Registration:
        try:
            return self._entries[kind][name]
        except KeyError:
            raise UnknownNameError(kind, name, self._entries.get(kind, {})) from None

    def get(self, kind: str, name: str) -> Any:
        """The component registered under ``name``; unknown names list what is available."""
        return self.entry(kind, name).load()

    def names(self, kind: str) -> List[str]:
        return sorted(self._entries.get(kind, {}))

    def entries(self, kind: Optional[str] = None) -> Iterator[Registration]:
        kinds = [kind] if kind else self.kinds()
        for k in kinds:
            entries = self._entries.get(k, {})
            yield from (entries[name] for name in sorted(entries))

    def by_plugin(self, plugin: str) -> List[Registration]:
        return [entry for entry in self.entries() if entry.plugin == plugin]


class PluginRegistry:
    """The view of the registry handed to one plugin's ``mava_register``: everything carries its name."""

    def __init__(self, registry: Registry, plugin: str):
        self._registry = registry
        self.plugin = plugin

    def add(self, kind: str, name: str, target: Any, description: str = "") -> None:
        """Register ``target`` as the ``kind`` component ``name``."""
        self._registry.add(kind, name, target, plugin=self.plugin, description=description)

    def add_kind(self, kind: str, description: str) -> None:
        """Declare a component kind this plugin brings (e.g. ``mixer``), so any plugin can register one."""
        self._registry.add_kind(kind, description, plugin=self.plugin)

    def add_extra(self, package: str, extra: str) -> None:
        """Declare the pip extra (``mava[extra]``) that installs ``package``, for missing-package errors."""
        self._registry.add_extra(package, extra, plugin=self.plugin)
