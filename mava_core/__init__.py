"""Mava's core: hook specifications, the plugin manager, configuration and the lifecycles.

Importing the core does not import TensorFlow; the modules that need it import it lazily.
"""
from mava_core._version import __version__
from mava_core.config import Component, RunConfig
from mava_core.errors import (
    CheckpointError,
    ConfigError,
    EnvironmentContractError,
    MavaError,
    MissingDependencyError,
    PluginConflictError,
    PluginError,
    RunInterrupted,
    UnknownNameError,
)
from mava_core.hookspecs import hookimpl, hookspec
from mava_core.plugins import PluginManager, get_plugin_manager
from mava_core.system import System, SystemBuilder

__all__ = [
    "__version__",
    "CheckpointError",
    "ConfigError",
    "EnvironmentContractError",
    "MavaError",
    "MissingDependencyError",
    "PluginConflictError",
    "PluginError",
    "RunInterrupted",
    "UnknownNameError",
    "hookimpl",
    "hookspec",
    "PluginManager",
    "get_plugin_manager",
    "Component",
    "RunConfig",
    "System",
    "SystemBuilder",
]
