"""Named components that plugins register: systems, environments, backends and parts of systems."""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Dict, Iterator, List, Optional

from mava_core.errors import MavaError, PluginConflictError, UnknownNameError

#: Kinds of component a plugin can register.
KINDS = (
    "system",  # a full algorithm: builds networks, executor policy, trainer, dataset needs
    "environment",  # an environment family: makes ``family:task`` environments
    "backend",  # runs a program: local, launchpad, ...
    "architecture",  # how agents' networks see each other (decentralised, centralised, ...)
    "network",  # network factories (Sonnet modules)
    "exploration",  # exploration schedules
    "dataset",  # Reverb table layouts and their adders
    "logger",  # where metrics go
    "env_wrapper",  # observation/reward preprocessing applied to every environment of a run
    "mixer",  # value-decomposition mixers: per-agent Q-values (and state) -> joint Q-value
)


@dataclasses.dataclass
class Registration:
    kind: str
    name: str
    target: Any
    plugin: str
    description: str = ""

    def load(self) -> Any:
        """The registered object, importing it first when it was registered as ``"module:attr"``."""
        if isinstance(self.target, str) and ":" in self.target:
            module_name, _, attribute = self.target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as error:
                from mava_core.errors import MissingDependencyError

                if isinstance(error, MissingDependencyError):
                    raise
                package = (error.name or module_name).split(".")[0]
                raise MissingDependencyError(
                    package, _extra_for(package), f"{self.kind} {self.name!r} (plugin {self.plugin!r})"
                ) from error
            self.target = getattr(module, attribute)
        return self.target


_EXTRAS = {
    "tensorflow": "tf",
    "sonnet": "tf",
    "tensorflow_probability": "tf",
    "tree": "tf",
    "reverb": "reverb",
    "launchpad": "launchpad",
    "pettingzoo": "envs",
    "mpe2": "envs",
    "gymnasium": "envs",
    "flatland": "flatland",
    "lbforaging": "lbf",
    "rware": "rware",
    "matplotlib": "logging",
}


def _extra_for(package: str) -> Optional[str]:
    return _EXTRAS.get(package)


class Registry:
    """All registrations, by kind and name."""

    def __init__(self) -> None:
        self._entries: Dict[str, Dict[str, Registration]] = {kind: {} for kind in KINDS}

    def add(self, kind: str, name: str, target: Any, *, plugin: str, description: str = "") -> None:
        if kind not in self._entries:
            raise MavaError(f"plugin {plugin!r} registers unknown kind {kind!r}; kinds are: {', '.join(KINDS)}")
        existing = self._entries[kind].get(name)
        if existing is not None:
            raise PluginConflictError(kind, name, existing.plugin, plugin)
        self._entries[kind][name] = Registration(kind, name, target, plugin, description)

    def entry(self, kind: str, name: str) -> Registration:
        try:
            return self._entries[kind][name]
        except KeyError:
            raise UnknownNameError(kind, name, self._entries.get(kind, {})) from None

    def get(self, kind: str, name: str) -> Any:
        """The component registered under ``name``; unknown names list what is available."""
        return self.entry(kind, name).load()

    def names(self, kind: str) -> List[str]:
        return sorted(self._entries[kind])

    def entries(self, kind: Optional[str] = None) -> Iterator[Registration]:
        kinds = [kind] if kind else KINDS
        for k in kinds:
            yield from (self._entries[k][name] for name in sorted(self._entries[k]))

    def by_plugin(self, plugin: str) -> List[Registration]:
        return [entry for entry in self.entries() if entry.plugin == plugin]


class PluginRegistry:
    """The view of the registry handed to one plugin's ``mava_register``: registrations carry its name."""

    def __init__(self, registry: Registry, plugin: str):
        self._registry = registry
        self.plugin = plugin

    def add(self, kind: str, name: str, target: Any, description: str = "") -> None:
        self._registry.add(kind, name, target, plugin=self.plugin, description=description)
