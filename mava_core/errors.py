"""Errors raised for user mistakes: each one says what was wrong and what to do.

Every error the framework raises on bad input derives from :class:`MavaError`, so the
command line can print its message without a stack trace.
"""
from __future__ import annotations

from typing import Iterable, Optional


class MavaError(Exception):
    """Base class of every error that is the user's to fix (config, names, installs)."""


class UnknownNameError(MavaError, KeyError):
    """A system, environment, backend, component or plugin name that nothing registered."""

    def __init__(self, kind: str, name: str, available: Iterable[str]):
        self.kind = kind
        self.name = name
        self.available = sorted(available)
        listing = ", ".join(self.available) if self.available else "(none registered)"
        super().__init__(f"unknown {kind} {name!r}; available: {listing}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class ConfigError(MavaError, ValueError):
    """A configuration key that does not exist, or a value of the wrong type or range."""

    def __init__(self, key: str, problem: str):
        self.key = key
        self.problem = problem
        super().__init__(f"config key {key!r}: {problem}")


class MissingDependencyError(MavaError, ImportError):
    """An optional package is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: Optional[str], needed_for: str, hint: str = ""):
        self.package = package
        self.extra = extra
        install = f"pip install 'mava[{extra}]'" if extra else f"pip install {package}"
        message = f"{needed_for} needs the package {package!r}, which is not installed; install it with: {install}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class PluginError(MavaError):
    """A plugin that failed to load, or two plugins that claim the same name."""


class PluginConflictError(PluginError):
    """Two plugins registered a component of the same kind under the same name."""

    def __init__(self, kind: str, name: str, first: str, second: str):
        self.kind, self.name, self.first, self.second = kind, name, first, second
        super().__init__(
            f"{kind} {name!r} is registered by two plugins: {first!r} and {second!r}; "
            f"block one of them (MAVA_BLOCK_PLUGINS={second}) or rename its component"
        )


class EnvironmentContractError(MavaError):
    """An environment returned something its own spec does not allow (shape, dtype, NaN)."""


class EnvironmentFailure(MavaError):
    """An environment raised inside an environment loop (its error is the ``__cause__``).

    ``loop`` is the loop whose environment failed: the executor's worker can give it a fresh
    environment (``run.on_executor_error=restart``).
    """

    def __init__(self, label: str, error: BaseException, loop: object = None):
        self.label = label
        self.error = error
        self.loop = loop
        super().__init__(f"{label}: the environment raised {type(error).__name__}: {error}")


class ExecutorFailedError(MavaError):
    """An executor's environment failed and ``run.on_executor_error`` says the run stops."""


class ReplayUnavailableError(MavaError):
    """The replay server stopped answering a trainer or an executor (see ``mava_core.replay_watch``)."""


class NodeCrashedError(MavaError):
    """A node's process of a process-per-node run ended on its own (crash, signal, uncaught error) before the run."""


class TrainingDivergedError(MavaError):
    """A loss or gradient became NaN or infinite."""


class CheckpointError(MavaError):
    """A checkpoint that is missing, corrupt, or was written by a different run (system, config, spec)."""


class RunInterrupted(MavaError):
    """A run stopped early by Ctrl-C or SIGTERM; it wrote a final checkpoint when it could.

    ``signal_number`` is the signal that stopped it; ``env_steps`` the count of the last
    checkpoint (``None`` when none was written).
    """

    def __init__(self, message: str, signal_number: int, env_steps: Optional[int] = None):
        self.signal_number = signal_number
        self.env_steps = env_steps
        super().__init__(message)
