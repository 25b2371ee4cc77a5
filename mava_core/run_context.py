"""The run context: what a hook or component may know about the run and the node it runs in.

A :class:`RunContext` is the supported surface for plugins: hooks receive it as their
``context`` argument (the ``builder`` argument some hooks still receive is kept for
compatibility only). It exists in every process of a run, one per node (the launching
process has its own, node ``"launcher"``), and under ``mava evaluate`` (node ``"evaluator"``).

Backends declare their traits (:class:`BackendTraits`) as a ``traits`` class attribute;
code reads them through ``context.backend`` instead of probing the backend class.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from mava_core.errors import PluginError

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from mava_core.config import RunConfig
    from mava_core.registry import PluginRegistry
    from mava_core.specs import MultiAgentSpec

#: the node name and role of the launching process's context (``mava run``, a script, ``mava evaluate``)
LAUNCHER = "launcher"


@dataclasses.dataclass(frozen=True)
class BackendTraits:
    """What a backend promises about how it runs a program's nodes.

    ``name``: the backend's registered name (``run.backend``).
    ``interleaves_nodes``: True when the backend runs every node in one process and
    schedules the trainer itself (the ``local`` backend): replay tables then need no
    ratio-limiting rate limiter and a trainer's sampling never has to time out. False when
    nodes run concurrently (Launchpad, Ray).
    ``schedules_gpus``: True when the backend's own scheduler gives each node the GPUs its
    ``node.resources[<backend name>]["num_gpus"]`` asks for and sets their visibility (Ray).
    """

    name: str
    interleaves_nodes: bool
    schedules_gpus: bool = False


def backend_traits(backend_class: Any, name: str) -> BackendTraits:
    """The traits ``backend_class`` declares (its ``traits`` class attribute); a backend without them is an error."""
    traits = getattr(backend_class, "traits", None)
    if not isinstance(traits, BackendTraits):
        raise PluginError(
            f"backend {name!r} ({backend_class!r}) declares no traits: give the class a "
            "`traits = BackendTraits(name=..., interleaves_nodes=...)` attribute (mava_core.run_context)"
        )
    return traits


@dataclasses.dataclass(frozen=True)
class RunContext:
    """The run and the node a hook or component runs in. Read-only; one per node, per process.

    Attributes:
        run: the run's :class:`~mava_core.config.RunConfig` (``run.run_dir``, ``run.env_steps``...).
        system_config: the system's config dataclass (its component slots hold their options).
        registry: the :class:`~mava_core.registry.PluginRegistry` of every registered component.
        backend: the :class:`BackendTraits` of the backend running the program.
        node: the node's name (``"trainer"``, ``"executor_0"``, ``"evaluator"``, ``"coordinator"``,
            a custom node's name), or ``"launcher"`` in the launching process.
        role: the node's role (:data:`mava_core.program.ROLES`), or ``"launcher"``.
        resumed: True when the run continues a checkpoint (``mava run --resume``).

    Properties: ``run_dir`` (the run directory, an absolute path under Ray), ``seed`` (the
    run's seed, ``run.seed``) and ``env_spec`` (the environment's
    :class:`~mava_core.specs.MultiAgentSpec`, read on first use: it makes an environment).
    """

    run: "RunConfig"
    system_config: Any
    registry: "PluginRegistry"
    backend: BackendTraits
    node: str
    role: str
    resumed: bool = False
    _builder: Any = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def run_dir(self) -> str:
        """The run directory: ``config.json``, ``summary.json``, logs and checkpoints are written here."""
        return str(self.run.run_dir)

    @property
    def seed(self) -> int:
        """The run's seed (``run.seed``); each node derives its own seeds from it."""
        return self.run.seed

    @property
    def env_spec(self) -> "MultiAgentSpec":
        """The environment's spec: agents, their observation and action specs, the state, the kind."""
        return self._builder.env_spec


class ContextHooks:
    """The plugin manager's hook relay, passing ``context`` to every hook whose specification takes it.

    ``hooks.mava_executor_observe(executor=..., ...)`` through this relay calls the hook with
    ``context=`` added. Each bound hook keeps the caller's ``get_hookimpls`` and ``spec``.
    """

    def __init__(self, hooks: Any, context: RunContext):
        self._hooks = hooks
        self.context = context

    def __getattr__(self, name: str) -> Any:
        caller = getattr(self._hooks, name)
        spec: Optional[Any] = getattr(caller, "spec", None)
        if spec is None or "context" not in spec.argnames:
            bound = caller
        else:
            bound = functools.partial(caller, context=self.context)
            bound.get_hookimpls = caller.get_hookimpls
            bound.spec = spec
            bound.name = caller.name
        setattr(self, name, bound)  # looked up once per hook
        return bound


class NodeContexts:
    """The run contexts of one process, by node, and their hook relays (a builder's ``_contexts``).

    Not pickled with the builder: every process makes its own.
    """

    def __init__(self, builder: Any):
        self._builder = builder
        self._contexts: Dict[str, RunContext] = {}
        self._relays: Dict[str, ContextHooks] = {}
        self._this_process: Tuple[str, str] = (LAUNCHER, LAUNCHER)

    def get(self, node: str, role: str, this_process: bool = False) -> RunContext:
        """The context of ``node``, made (and ``mava_node_start`` fired) on first use in this process.

        ``this_process``: the node is the one this process runs (under a backend that does
        not interleave nodes), so :meth:`current` returns its context from now on.
        """
        builder = self._builder
        if node not in self._contexts:
            context = RunContext(builder.run, builder.system_config, builder.registry, builder.backend_traits, node, role,
                                 resumed=builder.resume_from is not None, _builder=builder)
            self._contexts[node] = context
            if role != LAUNCHER:
                self.hooks(context).mava_node_start()
        if this_process and not builder.backend_traits.interleaves_nodes:
            self._this_process = (node, role)
        return self._contexts[node]

    def current(self) -> RunContext:
        """The context of the node this process runs, or the launching process's."""
        return self.get(*self._this_process)

    def hooks(self, context: RunContext) -> ContextHooks:
        if context.node not in self._relays:
            self._relays[context.node] = ContextHooks(self._builder.hooks, context)
        return self._relays[context.node]
