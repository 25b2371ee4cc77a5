"""Hook specifications: the points where plugins extend Mava.

Hooks are grouped by lifecycle: registration, configuration, program (build and launch),
dataset, executor, trainer and environment loop. The core ships a default implementation of
every hook that needs one (:mod:`mava_core.defaults`), marked ``trylast`` so that any plugin
can override it; cross-cutting concerns (timing, device placement) use hook wrappers.

All hooks are called with keyword arguments. Every hook that fires while a run is built or
runs receives ``context``: the :class:`~mava_core.run_context.RunContext` of the node it fires
in (run config, system config, registry, backend traits, run directory, node name and role,
seed, environment spec). ``context`` is the supported surface for plugins; the ``builder``
some hooks also receive is kept for compatibility and may change. Each hook's docstring says
which process it fires in. Per-step hooks (executor and environment loop)
run on the hot path and must stay cheap. Trainer hooks that receive tensors run while the
training step is traced by ``tf.function``: what they return becomes part of the compiled graph.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

import pluggy

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    import argparse

    import dm_env

    from mava_core.config import RunConfig, RunOptions
    from mava_core.environment_loop import EnvironmentLoop
    from mava_core.executor import Executor
    from mava_core.program import Program
    from mava_core.registry import PluginRegistry
    from mava_core.run_context import RunContext
    from mava_core.specs import MultiAgentSpec
    from mava_core.system import SystemBuilder
    from mava_core.trainer import GradientUpdate, Trainer

PROJECT = "mava"
ENTRY_POINT_GROUP = "mava"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------- registration
@hookspec
def mava_register(registry: "PluginRegistry") -> None:
    """Register the components this plugin provides.

    Fires once per plugin when the plugin manager loads it (before any run is built).
    ``registry`` is bound to the calling plugin, so every registration is attributed to it:
    ``registry.add(kind, name, target, description=...)`` where ``kind`` is one of
    :data:`mava_core.registry.CORE_KINDS` or a kind some plugin declared, and ``target`` is
    an object or a lazy ``"module:attribute"`` string. Registering a name another plugin
    already registered for the same kind raises :class:`~mava_core.errors.PluginConflictError`.
    A plugin that brings a new kind of component declares it with
    ``registry.add_kind(kind, description)`` (any plugin may then register that kind,
    whatever the load order); one whose lazy targets import optional packages names the
    pip extra that installs each with ``registry.add_extra(package, extra)``, so a missing
    package is reported as ``pip install 'mava[extra]'``. Returns nothing.
    """


@hookspec
def mava_add_run_options(options: "RunOptions") -> None:
    """Declare the ``run.KEY`` settings this plugin reads, as pytest's ``pytest_addoption`` does.

    Fires once per plugin when the plugin manager loads it, before its ``mava_register``.
    ``options.add(name, type, default, minimum=..., maximum=..., choices=..., help=...)``
    declares ``run.<name>``: it is then set like the core's settings (``run.<name>=VALUE``
    overrides, ``RunConfig(<name>=...)``), checked with the same one-line errors, listed by
    ``mava config`` and saved in ``config.json``; read it as ``run.<name>``. Declaring a key
    the core or another plugin has is a :class:`~mava_core.errors.PluginError`. Returns nothing.
    """


# --------------------------------------------------------------------------- command line
@hookspec
def mava_add_commands(commands: "argparse._SubParsersAction") -> None:
    """Add subcommands to the ``mava`` command (as ``mava experiment`` is added).

    Fires once per ``mava`` invocation, in its process, before the arguments are parsed.
    ``commands`` is the ``argparse`` subparsers object: add a parser with
    ``commands.add_parser(name, help=...)``, its arguments, and
    ``parser.set_defaults(mava_command=run)``, where ``run(args, plugin_manager)`` does the
    work and returns the exit status. A :class:`~mava_core.errors.MavaError` it raises is
    printed as one line with exit status 2. A command with an ``overrides`` positional
    (``nargs="*"``) also receives the ``key=value`` items given after its options.
    Returns nothing.
    """


# -------------------------------------------------------------------------- configuration
@hookspec
def mava_configure(run: "RunConfig", system_config: Any) -> None:
    """Inspect or adjust a run's configuration before anything is built.

    Fires once per run, in the launching process only (and when ``mava evaluate`` or
    ``--resume`` rebuilds a saved run; never in a node's process; no ``context`` exists yet), after command-line overrides are applied and before validation.
    ``run`` is the :class:`~mava_core.config.RunConfig`; ``system_config`` is the system's
    config dataclass. Implementations may modify either in place or raise
    :class:`~mava_core.errors.ConfigError` naming the offending key. Returns nothing.
    """


# -------------------------------------------------------------------------------- program
@hookspec
def mava_program_build_nodes(builder: "SystemBuilder", program: "Program", context: "RunContext") -> None:
    """Add or change the nodes of a program (replay, counter, trainer, executors, evaluator, coordinator).

    Fires once per run, in the launching process only (never in a node's process, nor under
    ``mava evaluate``), after the core has added the standard nodes, so implementations see
    the full program; ``context.node`` is ``"launcher"``. A node may be replaced by another
    of the same role, but a program left without a replay, counter, trainer, evaluator or
    coordinator node, or without executors, is refused (:class:`~mava_core.errors.PluginError`
    naming the node) before anything starts. ``program`` is a :class:`~mava_core.program.Program` description that
    backends turn into processes: add nodes with ``program.add(...)``, or drop and replace
    them. Returns nothing.
    """


@hookspec(firstresult=True)
def mava_program_launch(program: "Program", builder: "SystemBuilder", context: "RunContext") -> Optional[Mapping[str, Any]]:
    """Run a program to its budget and return its summary.

    First-result. Fires once per run, in the launching process (``context.node`` is ``"launcher"``). The core default looks up the backend named by
    ``builder.run.backend`` in the registry and calls its ``launch(program, builder)``.
    A plugin may return a summary dict itself to take over launching; a hook wrapper may time
    or guard the launch. Returns a dict with at least ``env_steps`` and ``trainer_steps``.
    """


@hookspec
def mava_node_start(context: "RunContext") -> None:
    """Fires once per node, in the process that runs the node, as the node starts.

    Fires in every node's process (replay, counter, trainer, each executor, evaluator,
    coordinator and custom nodes) under every backend, before the node's worker is built;
    under the ``local`` backend every node runs in the launching process, so it fires there
    once per node. Under ``mava evaluate`` it fires once, for the ``evaluator`` node.
    ``context.node`` and ``context.role`` say which node; ``context.run_dir`` is where the
    run writes. Returns nothing.
    """


# ----------------------------------------------------------------------------- evaluation
@hookspec
def mava_evaluation_start(builder: "SystemBuilder") -> None:
    """Check a saved run before ``mava evaluate`` builds its evaluator.

    Fires once, in ``mava evaluate``'s process, after the run is rebuilt from its
    ``config.json`` (with ``run.record_eval=true`` under ``--record``) and before the
    evaluator's environment is made. Raise :class:`~mava_core.errors.ConfigError` naming the
    key to refuse the evaluation (the ``recording`` plugin refuses an environment that
    cannot render). Returns nothing.
    """


@hookspec(firstresult=True)
def mava_evaluation_record(builder: "SystemBuilder", loop: "EnvironmentLoop", name: str) -> Optional[Dict[str, Any]]:
    """Play one episode of ``loop`` and save it as a video (``mava evaluate --record``).

    First-result. Fires once, in ``mava evaluate``'s process, before the other evaluation
    episodes; ``loop`` is the evaluator's loop with the checkpoint's policy loaded, and
    ``name`` the video's file name without its extension (``checkpoint_<ID>``). Return the
    episode's result (as ``loop.run_episode()`` returns it) with ``"video"``: the path
    written, or ``None`` to defer. The built-in ``recording`` plugin writes
    ``<run_dir>/videos/<name>.<run.record_format>``; with no implementation,
    ``--record`` is refused.
    """


# -------------------------------------------------------------------------------- dataset
@hookspec
def mava_dataset_tables(builder: "SystemBuilder", context: "RunContext") -> List[Any]:
    """Return Reverb tables the replay server should host.

    Fires once when the replay node is built, in the replay node's process (``context.node``
    is ``"replay"``). Every implementation's list is concatenated:
    the core default returns the tables of the system's dataset component; a plugin may add
    tables of its own (e.g. a second table for a diagnostics adder). Returns a list of
    ``reverb.Table``.
    """


@hookspec(firstresult=True)
def mava_dataset_adder(builder: "SystemBuilder", client: Any, context: "RunContext") -> Any:
    """Return the adder an executor writes its experience with.

    First-result. Fires once per environment copy of each executor, in the executor's
    process (``context.node`` is ``"executor_<i>"``); never for the evaluator. ``client`` is a
    ``reverb.Client`` connected to the replay server. The core default asks the system's
    adder component. Returns an object with ``add_first(timestep, extras)`` and
    ``add(actions, next_timestep, extras)``; optionally ``flush(should_stop)`` (send every
    pending item, giving up once ``should_stop()`` is true: the executor calls it when it
    closes) and ``items_written`` (items created so far, counted in the run's item
    accounting, ``summary.json``'s ``items_written``).
    """


@hookspec(firstresult=True)
def mava_dataset_iterator(builder: "SystemBuilder", server_address: str, context: "RunContext") -> Any:
    """Return the iterator the trainer samples batches from.

    First-result. Fires in the trainer's process (``context.node`` is ``"trainer"``) when a trainer is built, and again whenever a process-per-node
    backend's trainer saw sampling time out (so it can check for the end of the run) and
    needs a fresh iterator. The core default builds a prefetched
    ``reverb.TrajectoryDataset`` for the system's table. Returns an iterator of batches.
    """


# ----------------------------------------------------------------------------- checkpoint
@hookspec(firstresult=True)
def mava_checkpointer(builder: "SystemBuilder", context: "RunContext") -> Optional[Any]:
    """Return the object that saves and restores a run's state, or ``None`` for no checkpoints.

    First-result. Fires once per process that needs it (the first time
    ``builder.checkpointer`` is read: in the launching process, the replay, counter,
    trainer, executor and evaluator nodes, and ``mava evaluate``); ``context`` is that
    process's (``"launcher"`` in the launching process, under the local backend and
    ``mava evaluate``). The built-in ``checkpointing`` plugin returns a
    ``RunCheckpointer`` writing ``run_dir/checkpoints`` unless ``run.checkpoint=false``; a
    plugin may return its own object with the same methods to store checkpoints elsewhere:
    ``prepare()`` (launching process: refuse or select the checkpoint to resume, set
    ``builder.resume_from``), ``replay_checkpointer()`` (a Reverb checkpointer for the
    replay server), ``initial_counts()`` (the counter's starting counts), ``restore_trainer(trainer)``,
    ``due(env_steps)``, ``save(trainer, counts, replay_client)``, ``latest()`` (the newest
    checkpoint's entry, or ``None``), ``restore_policy(groups, checkpoint_id)`` (for
    ``mava evaluate``) and ``previous_evaluations()`` (evaluation rows of the run before it
    was resumed); optionally ``save_environment_state(node, copies)``,
    ``environment_state(node)`` and ``environment_states()`` (what executors' environments
    carry over, e.g. normalisation statistics; without them nothing is carried over). See
    docs/reliability.md.
    """


# ------------------------------------------------------------------------------- executor
@hookspec
def mava_executor_init(executor: "Executor", context: "RunContext") -> None:
    """Fires once when an executor (or evaluator) has been built, before its first step.

    Fires in executor and evaluator nodes (once per environment copy) and under
    ``mava evaluate``; ``context.node`` is ``"executor_<i>"`` or ``"evaluator"``.

    ``executor.is_evaluator`` tells the two apart. Use it to attach state to the executor.
    Returns nothing.
    """


@hookspec
def mava_executor_observe_first(
    executor: "Executor", timestep: "dm_env.TimeStep", extras: Dict[str, Any], context: "RunContext"
) -> None:
    """Fires on the first timestep of every episode, in executor and evaluator nodes and ``mava evaluate``.

    The core default resets the policy's recurrent state and hands the timestep to the adder.
    ``extras`` (mutable) holds what is stored beside the observation: ``state``, the
    environment's global state, when the system reads it (``System.reads_state``).
    Returns nothing.
    """


@hookspec(firstresult=True)
def mava_executor_select_actions(
    executor: "Executor", observations: Mapping[str, Any], context: "RunContext"
) -> Optional[Dict[str, Any]]:
    """Choose every acting agent's action for one environment step.

    First-result, per step, in executor and evaluator nodes and ``mava evaluate``. ``observations`` maps agent id to
    :class:`~mava_core.specs.AgentObservation`. The core default calls the executor's
    policy (one batched, compiled call for all agents). Return a dict from agent id to
    action to override it, or ``None`` to defer.
    """


@hookspec
def mava_executor_observe(
    executor: "Executor", actions: Mapping[str, Any], next_timestep: "dm_env.TimeStep", extras: Dict[str, Any],
    context: "RunContext",
) -> None:
    """Fires after every environment step with the actions taken and the timestep they led to.

    Fires in executor and evaluator nodes and ``mava evaluate``.
    The core default hands the transition to the adder. ``extras`` is mutable, as in
    ``mava_executor_observe_first``; besides ``state`` (when the system reads it) it holds whatever the policy's
    optional ``extras()`` returned for the actions just taken (e.g. log-probabilities).
    Returns nothing.
    """


@hookspec
def mava_executor_update(executor: "Executor", wait: bool, context: "RunContext") -> None:
    """Fires when the executor may refresh its parameters from the trainer (executor and evaluator nodes, ``mava evaluate``).

    The core default pulls variables from the variable source every
    system's ``variable_update_period`` executor steps (at once when ``wait`` is true).
    Returns nothing.
    """


# -------------------------------------------------------------------------------- trainer
@hookspec
def mava_trainer_init(trainer: "Trainer", context: "RunContext") -> None:
    """Fires once when a trainer has been built, before its first step, in the trainer's process. Returns nothing."""


@hookspec(firstresult=True)
def mava_trainer_device(builder: "SystemBuilder", context: "RunContext") -> Optional[str]:
    """Return the TensorFlow device the trainer's compiled step runs on, e.g. ``"/GPU:0"``.

    First-result. Fires once in the trainer's process, when the trainer is built (before
    any of its variables are created). ``None`` (the core's answer when no plugin gives one)
    leaves placement to TensorFlow. The built-in ``placement`` plugin resolves
    ``run.device`` here; it may raise :class:`~mava_core.errors.ConfigError` naming
    ``run.device`` when the device asked for is not there.
    """


@hookspec
def mava_trainer_step_start(trainer: "Trainer", step: int, context: "RunContext") -> None:
    """Fires in Python before every training step, in the trainer's process; ``step`` counts completed steps. Returns nothing."""


@hookspec
def mava_trainer_loss(
    trainer: "Trainer", losses: Mapping[str, Any], batch: Any, context: "RunContext"
) -> Optional[Mapping[str, Any]]:
    """Return extra loss terms to add to the system's losses.

    Fires in the trainer's process while the training step is traced (once per compilation, not per step).
    ``losses`` maps a loss name to a scalar tensor; ``batch`` is the sampled data. Return a
    dict of additional named scalar tensors (added to the total and logged), or ``None``.
    """


@hookspec
def mava_trainer_after_gradients(trainer: "Trainer", update: "GradientUpdate", context: "RunContext") -> None:
    """Inspect or transform gradients before they are applied.

    Fires in the trainer's process while the training step is traced, once per optimisation group (``update.group``:
    ``"default"`` for single-loss learners, e.g. ``"policy"`` and ``"critic"`` for
    actor-critic ones). ``update.gradients`` and ``update.variables`` are parallel lists;
    replace ``update.gradients`` to transform them (the core default clips by global norm
    when the system config sets ``max_gradient_norm``).
    Returns nothing.
    """


@hookspec
def mava_trainer_step_end(trainer: "Trainer", step: int, metrics: Dict[str, float], context: "RunContext") -> None:
    """Fires in Python after every training step, in the trainer's process, with its metrics (mutable: add your own).

    Returns nothing.
    """


# ----------------------------------------------------------------------- environment loop
@hookspec
def mava_env_loop_episode_start(loop: "EnvironmentLoop", timestep: "dm_env.TimeStep", context: "RunContext") -> None:
    """Fires when an episode begins, with its FIRST timestep (executor and evaluator nodes, ``mava evaluate``). Returns nothing."""


@hookspec
def mava_env_loop_step(
    loop: "EnvironmentLoop", actions: Mapping[str, Any], timestep: "dm_env.TimeStep", context: "RunContext"
) -> None:
    """Fires after every environment step (executor and evaluator nodes, ``mava evaluate``). Per-step: keep it cheap.

    Returns nothing.
    """


@hookspec
def mava_env_loop_episode_end(loop: "EnvironmentLoop", result: Dict[str, Any], context: "RunContext") -> None:
    """Fires when an episode ends, with its result (return, length, steps/s, env metrics).

    Fires in executor and evaluator nodes and under ``mava evaluate``.

    ``result`` is mutable: add metrics to it and every logger receives them. Returns nothing.
    """


@hookspec
def mava_environment_spec(spec: "MultiAgentSpec", environment_name: str) -> None:
    """Fires once per run when the environment's spec is first read (a validation point).

    Fires in the launching process as the program is built (node processes receive the spec
    with the run), and under ``mava evaluate``. It receives no ``context``: the context's
    ``env_spec`` is this spec.

    Raise :class:`~mava_core.errors.ConfigError` to refuse a system/environment pair.
    Returns nothing.
    """
