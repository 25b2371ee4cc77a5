"""Systems and the builder that assembles a run from named components.

A *system* plugin registers a :class:`System` subclass: its config dataclass (with component
slots such as ``network`` or ``exploration``), its compatibility check against an
environment, and how to make its networks, executor policy and learner. The
:class:`SystemBuilder` does everything else the same way for every system: resolves names
through the registry, applies overrides, validates, makes environments, tables, adders,
iterators, trainers, executors and the program, and launches it through a backend.

A builder pickles to its configuration only, so backends can rebuild it in other processes.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from mava_core import config as cfg
from mava_core.config import Component, RunConfig
from mava_core.environment import ContractCheckedEnvironment, MultiAgentEnvironment
from mava_core.errors import ConfigError, MavaError, PluginError
from mava_core.plugins import PluginManager, get_plugin_manager
from mava_core.program import REPLAY, TRAINER, Program
from mava_core.run_context import BackendTraits, ContextHooks, NodeContexts, RunContext, backend_traits
from mava_core.specs import SEQUENTIAL, MultiAgentSpec

#: seed distance between the environment copies of one executor (prime, so no copy shares another executor's seed)
COPY_SEED_STRIDE = 100_003


class System:
    """Base class of system plugins. Subclasses set ``name`` and ``Config`` and implement the makers."""

    name: str = ""
    #: dataclass holding every setting of the system; component slots are ``config.component(...)`` fields
    Config: type = object
    description: str = ""

    def __init__(self, config: Any, spec: MultiAgentSpec, components: "Components"):
        self.config = config
        self.spec = spec
        self.components = components

    @classmethod
    def check_environment(cls, spec: MultiAgentSpec, environment: str) -> None:
        """Raise ConfigError when this system cannot run on an environment with this spec."""

    def make_networks(self) -> Any:
        raise NotImplementedError

    def make_policy(self, networks: Any, evaluation: bool, seed: int) -> Any:
        """An object with ``select_actions(observations)``, ``reset()`` and ``set_step(env_steps)``."""
        raise NotImplementedError

    def policy_variables(self, networks: Any) -> Dict[str, List[Any]]:
        raise NotImplementedError

    def make_learner(self, networks: Any, replay_client: Any) -> Any:
        raise NotImplementedError

    def reads_state(self) -> bool:
        """Whether the system's learner or policy reads the environment's global state.

        When it does not, executors neither ask the environment for its state nor record it,
        and the datasets build from :attr:`SystemBuilder.recorded_spec`, which then has no
        state. A system that says nothing here keeps the state (the safe default).
        """
        return True

    def vector_acting_refusal(self) -> Optional[str]:
        """Why this system cannot act in several environment copies per executor, or None when it can.

        A system that can returns None and its policy implements
        ``select_actions_batch(observations_list) -> list of action dicts`` (one dict per copy),
        with no per-episode state shared between copies.
        """
        return "its executor policy has no batched acting over environment copies"


class Components:
    """The instantiated components of a system config, by slot name (``components.network``)."""

    def __init__(self, config: Any, registry: Any):
        self._instances: Dict[str, Any] = {}
        for field in dataclasses.fields(config):
            slot = getattr(config, field.name)
            if isinstance(slot, Component):
                factory = registry.get(slot.kind, slot.name)
                self._instances[field.name] = factory(slot.options) if slot.options is not None else factory()

    def __getattr__(self, name: str) -> Any:
        try:
            return self._instances[name]
        except KeyError:
            raise AttributeError(f"system has no component slot {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._instances


def plugin_name(plugin: Any) -> str:
    """The name a plugin object registers under: its ``name`` attribute, else its (class) name."""
    explicit = getattr(plugin, "name", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    return getattr(plugin, "__name__", None) or type(plugin).__name__


def _import_plugin_module(module_name: str) -> Any:
    """Import a plugin module named by the user; a missing one is a one-line error, not a traceback."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise PluginError(f"plugin module {module_name!r} could not be imported: {error}") from error


def parse_environment_name(name: str) -> Tuple[str, str]:
    family, sep, task = name.partition(":")
    if not sep or not family or not task:
        raise ConfigError("environment", f"environments are named family:task (e.g. pettingzoo:simple_spread_v3), got {name!r}")
    return family, task


def _default_run_dir(run: RunConfig) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    env = run.environment.replace(":", "_")
    return os.path.join("runs", f"{run.system}_{env}_{stamp}_seed{run.seed}")


class SystemBuilder:
    """Assembles and launches one run. Everything the backends need comes from here."""

    def __init__(
        self,
        run: Optional[RunConfig] = None,
        system_config: Any = None,
        overrides: Iterable[str] | Dict[str, Any] = (),
        plugin_manager: Optional[PluginManager] = None,
        plugins: Sequence[Any] = (),
    ):
        self.run = run or RunConfig()
        # Extra plugins for this run, registered again in every process that rebuilds the builder:
        # module names are imported there; plugin objects travel with the builder (backends
        # cloudpickle it, so a plugin class defined in a user's script reaches every node).
        self.plugin_modules = [p for p in plugins if isinstance(p, str)]
        self.plugin_objects = [p for p in plugins if not isinstance(p, str)]
        #: True when this run continues the latest checkpoint in its run directory (``--resume``)
        self.resume = False
        #: the checkpoint being resumed (id, directory, counts), set by the checkpointer's prepare()
        self.resume_from: Optional[Dict[str, Any]] = None
        self._pm = None
        self._attach(plugin_manager)
        cfg.bind_run_options(self.run, self.plugin_manager.run_options)  # the plugins' run.KEY settings
        registry = self.registry
        system_cls = registry.get("system", self.run.system)
        self.system_config = system_config if system_config is not None else system_cls.Config()
        self._fill_component_defaults(self.system_config)
        items = overrides.items() if isinstance(overrides, dict) else cfg.parse_overrides(overrides)
        for key, value in items:
            self._override(key, value)
        self._fill_component_defaults(self.system_config)
        self.hooks.mava_configure(run=self.run, system_config=self.system_config)
        cfg.validate(self.run, "run.")
        cfg.validate(self.system_config)
        if not self.run.run_dir:
            self.run.run_dir = _default_run_dir(self.run)
        self.family_name, self.task = parse_environment_name(self.run.environment)
        registry.entry("environment", self.family_name)  # unknown family: list what is available
        for logger_name in self.run.loggers:
            registry.entry("logger", logger_name)
        for wrapper in self.run.env_wrappers:
            registry.entry("env_wrapper", wrapper)
        registry.entry("backend", self.run.backend)
        cfg.backend_options(self.run, self.backend_class)  # a bad backend option fails here, before launch

    # ------------------------------------------------------------------ plumbing
    def __getstate__(self) -> Dict[str, Any]:
        # the plugin manager and built components are remade in the receiving process
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k != "system"}
        state["_pm"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _attach(self, plugin_manager: Optional[PluginManager]) -> PluginManager:
        """Use ``plugin_manager`` (the process-wide one when None) with this run's extra plugins registered."""
        pm = plugin_manager if plugin_manager is not None else get_plugin_manager()
        for module_name in self.plugin_modules:
            if module_name not in pm.plugins:
                pm.register(_import_plugin_module(module_name), name=module_name)
        for plugin in self.plugin_objects:
            name = plugin_name(plugin)
            if name not in pm.plugins:
                pm.register(plugin, name=name)
        self._pm = pm
        return pm

    @property
    def plugin_manager(self) -> PluginManager:
        return self._pm if self._pm is not None else self._attach(None)

    @property
    def registry(self):
        return self.plugin_manager.registry

    @property
    def hooks(self):
        return self.plugin_manager.hook

    def _resolve_options(self, kind: str, name: str) -> Any:
        factory = self.registry.get(kind, name)
        config_cls = getattr(factory, "Config", None)
        return config_cls() if config_cls is not None else None

    def _fill_component_defaults(self, config: Any) -> None:
        for field in dataclasses.fields(config):
            slot = getattr(config, field.name)
            if isinstance(slot, Component) and slot.options is None:
                slot.options = self._resolve_options(slot.kind, slot.name)

    def _override(self, key: str, value: Any) -> None:
        if key.startswith("run."):
            cfg.set_value(self.run, key[4:], value, prefix="run.")
        elif key.startswith("env."):
            self.run.env_options[key[4:]] = cfg.coerce(key, Any, value)
        else:
            cfg.set_value(self.system_config, key, value, self._resolve_options)

    # ------------------------------------------------------------- environment
    def make_environment(self, seed: int, **options: Any) -> MultiAgentEnvironment:
        """The run's environment (wrapped and contract-checked); ``options`` add to ``run.env_options``."""
        family = self.registry.get("environment", self.family_name)
        environment = family.make(self.task, seed=seed, **{**self.run.env_options, **options})
        for wrapper in self.run.env_wrappers:
            environment = self.registry.get("env_wrapper", wrapper)(environment)
        if self.run.check_environment:
            environment = ContractCheckedEnvironment(environment, name=self.run.environment)
        return environment

    @functools.cached_property
    def env_spec(self) -> MultiAgentSpec:
        environment = self.make_environment(self.run.seed)
        spec = environment.multi_agent_spec()
        environment.close()
        self.hooks.mava_environment_spec(spec=spec, environment_name=self.run.environment)
        system_cls = self.registry.get("system", self.run.system)
        system_cls.check_environment(spec, self.run.environment)
        return spec

    @functools.cached_property
    def recorded_spec(self) -> MultiAgentSpec:
        """The spec of what executors record: ``env_spec``, less the global state when the system does not read it.

        Dataset plugins build their tables, adders and iterators from this spec, so a system
        that never reads the state (MADQN, VDN, MADDPG with its default critics) neither pays
        for the environment computing it at every step nor stores it twice in every item.
        """
        spec = self.env_spec
        reads_state = getattr(self.system, "reads_state", None)
        if spec.state is None or reads_state is None or reads_state():
            return spec
        return dataclasses.replace(spec, state=None)

    # --------------------------------------------------------------- components
    @functools.cached_property
    def system(self) -> System:
        system_cls = self.registry.get("system", self.run.system)
        return system_cls(self.system_config, self.env_spec, Components(self.system_config, self.registry))

    @property
    def checkpointer(self) -> Any:
        """This process's checkpointer (from ``mava_checkpointer``), or None when the run keeps none."""
        if "_checkpointer" not in self.__dict__:
            self._checkpointer = self.hooks_for(self.context).mava_checkpointer(builder=self)
        return self._checkpointer

    @property
    def backend_class(self) -> Any:
        return self.registry.get("backend", self.run.backend)

    @property
    def backend_traits(self) -> BackendTraits:
        """What the run's backend declares about how it runs nodes (see :class:`~mava_core.run_context.BackendTraits`)."""
        return backend_traits(self.backend_class, self.run.backend)

    # ------------------------------------------------------------------ contexts
    def node_context(self, node: str, role: str, this_process: bool = False) -> RunContext:
        """The run context of ``node`` in this process (:meth:`~mava_core.run_context.NodeContexts.get`)."""
        return self._contexts.get(node, role, this_process)

    @property
    def context(self) -> RunContext:
        """This process's run context: its node's under process-per-node backends, else the launching process's."""
        return self._contexts.current()

    def hooks_for(self, context: RunContext) -> ContextHooks:
        """The hook relay that passes ``context`` to every hook taking it."""
        return self._contexts.hooks(context)

    @functools.cached_property
    def _contexts(self) -> NodeContexts:
        return NodeContexts(self)

    @property
    def dataset(self) -> Any:
        return self.system.components.dataset

    def make_replay_tables(self) -> List[Any]:
        hooks = self.hooks_for(self.node_context("replay", REPLAY))
        tables = [table for result in hooks.mava_dataset_tables(builder=self) for table in result]
        if not tables:
            raise MavaError(f"system {self.run.system!r} declared no replay tables")
        return tables

    def make_trainer(self, replay_address: str, counter: Any = None, logger: Any = None):
        from mava_core.trainer import Trainer, on_device

        self.seed_process(self.run.seed)
        import reverb

        hooks = self.hooks_for(self.node_context("trainer", TRAINER))
        device = hooks.mava_trainer_device(builder=self)
        with on_device(device):  # the networks' and learner's variables live where the step runs
            networks = self.system.make_networks()
            client = reverb.Client(replay_address)
            learner = self.system.make_learner(networks, client)
            iterator = hooks.mava_dataset_iterator(builder=self, server_address=replay_address)
            return Trainer(
                learner,
                iterator,
                hooks,
                counter=counter,
                logger=logger,
                max_gradient_norm=getattr(self.system_config, "max_gradient_norm", None),
                log_every_seconds=self.run.log_every_seconds,
                device=device,
            )

    def make_executor(self, index: int, replay_address: Optional[str], variable_source: Any, evaluation: bool = False):
        """An (EnvironmentLoop, Executor) pair; evaluators get a greedy policy and no adder (:func:`mava_core.acting.make_executor`)."""
        from mava_core.acting import make_executor

        return make_executor(self, index, replay_address, variable_source, evaluation)

    def executor_seed(self, index: int, evaluation: bool, copy: int = 0) -> int:
        """The seed of executor ``index``'s environment copy ``copy`` (copy 0 also seeds the process and policy)."""
        # a resumed run's executors get fresh seeds (not the first episodes again); the evaluator keeps its own
        resumed = 0 if evaluation or not self.resume_from else int(self.resume_from["counts"].get("env_steps", 0))
        return self.run.seed + resumed + (999_983 if evaluation else 1_009 * (index + 1) + COPY_SEED_STRIDE * copy)

    def check_vector_acting(self) -> None:
        """Refuse ``run.envs_per_executor`` > 1 for systems or environments that cannot act in copies."""
        copies = self.run.envs_per_executor
        if copies == 1:
            return
        key = "run.envs_per_executor"
        if self.env_spec.kind == SEQUENTIAL:
            raise ConfigError(key, f"{self.run.environment} is turn-based; its executors step one environment, set {key}=1")
        reason = self.system.vector_acting_refusal()
        if reason is not None:
            raise ConfigError(key, f"{self.run.system} cannot step {copies} environment copies per executor: {reason}; set {key}=1")

    @staticmethod
    def seed_process(seed: int) -> None:
        import random

        import numpy as np
        import tensorflow as tf

        random.seed(seed)
        np.random.seed(seed % (2**32))
        tf.random.set_seed(seed)

    def make_loggers(self, label: str, terminal: bool = True):
        from mava_core.logger_group import make_loggers

        names = [n for n in self.run.loggers if terminal or n != "terminal"]
        resume_at = int(self.resume_from["counts"].get("env_steps", 0)) if self.resume_from else None
        return make_loggers(
            names, self.run.run_dir, label, self.registry, budget=self.run.env_steps,
            every_seconds=self.run.log_every_seconds, resume_at=resume_at,
        )

    # ------------------------------------------------------------------ program
    def build_program(self) -> Program:
        """The program's nodes, the plugins' changes included (:func:`mava_core.program.build_program`)."""
        from mava_core.program import build_program

        return build_program(self)

    def launch(self) -> Dict[str, Any]:
        """Build the program and run it to its budget on the configured backend; returns the summary."""
        from mava_core.program import save_config

        program = self.build_program()
        os.makedirs(self.run.run_dir, exist_ok=True)
        if self.checkpointer is not None:
            self.checkpointer.prepare()  # refuses a mismatched or corrupt checkpoint before any process starts
        elif self.resume:
            raise ConfigError("run.checkpoint", "a resumed run needs its checkpoints; it cannot be false")
        save_config(self)
        return self.hooks_for(self.context).mava_program_launch(program=program, builder=self)

    def save_config(self) -> str:
        """Write ``RUN_DIR/config.json`` (:func:`mava_core.program.save_config`)."""
        from mava_core.program import save_config

        return save_config(self)
