"""What hooks receive: every attribute of every object a hook is called with, for the hook reference.

``docs/hooks.md`` renders :data:`OBJECTS` (through :func:`render_objects_reference`) after the
hooks, as pytest's reference documents ``config`` and ``item``. A test compares each table
with the public attributes of the live objects of a run, so a new attribute cannot go
undocumented.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

#: argument name -> (what it is, {attribute: description}); attributes are in reading order
OBJECTS: Dict[str, Tuple[str, Dict[str, str]]] = {
    "context": (
        "`mava_core.run_context.RunContext`: the run and the node the hook fires in. Read-only "
        "(a frozen dataclass); one per node and process. **The supported surface for plugins.**",
        {
            "run": "the run's `RunConfig` (`run.env_steps`, `run.executors`, `run.backend`...; every field is "
                   "listed by `mava config SYSTEM` and in [configuration.md](configuration.md))",
            "system_config": "the system's config dataclass; component slots hold `Component(kind, name, options)`",
            "registry": "the `PluginRegistry` of every registered component (`registry.get(kind, name)`, "
                        "`registry.names(kind)`)",
            "backend": "the backend's `BackendTraits` (below)",
            "node": "the node's name: `replay`, `counter`, `trainer`, `executor_<i>`, `evaluator`, `coordinator`, "
                    "a custom node's name, or `launcher` in the launching process",
            "role": "the node's role (`replay`, `counter`, `trainer`, `executor`, `evaluator`, `coordinator`, "
                    "`custom`), or `launcher`",
            "resumed": "True when the run continues a checkpoint (`mava run --resume`)",
            "run_dir": "the run directory (`run.run_dir`; absolute under Ray): config, summary, logs, checkpoints",
            "seed": "the run's seed (`run.seed`); nodes derive their own seeds from it",
            "env_spec": "the environment's `MultiAgentSpec` (`spec`, below); read on first use",
        },
    ),
    "context.backend": (
        "`mava_core.run_context.BackendTraits`: what the backend declares about how it runs nodes "
        "(its `traits` class attribute).",
        {
            "name": "the backend's registered name (`local`, `launchpad`, `ray`)",
            "interleaves_nodes": "True when every node runs in one process and the backend schedules the trainer "
                                 "(`local`): no ratio limiter is needed and sampling never times out",
            "schedules_gpus": "True when the backend's scheduler gives each node the GPUs it asks for (`ray`)",
        },
    ),
    "executor": (
        "`mava_core.executor.Executor`: acts for every agent of one environment copy.",
        {
            "policy": "the system's policy: `select_actions(observations)`, `reset()`, `set_step(env_steps)`",
            "adder": "the adder experience is written with (`mava_dataset_adder`), or None for the evaluator",
            "variable_client": "pulls the policy's variables from the trainer (None under `mava evaluate`)",
            "is_evaluator": "True for the evaluator's (greedy) executor",
            "exploration_step": "the env-step count the policy's exploration schedule is at, or None",
            "observe_first": "`observe_first(timestep)`: fires `mava_executor_observe_first`",
            "select_actions": "`select_actions(observations)`: fires `mava_executor_select_actions`",
            "observe": "`observe(actions, next_timestep)`: fires `mava_executor_observe`",
            "update": "`update(wait=False)`: fires `mava_executor_update`",
            "use_environment": "`use_environment(environment)`: read the global state from a fresh environment",
        },
    ),
    "loop": (
        "`mava_core.environment_loop.EnvironmentLoop` (or `SequentialEnvironmentLoop` for turn-based "
        "tasks): runs one executor in one environment copy, episode by episode.",
        {
            "environment": "the (wrapped, contract-checked) environment",
            "executor": "the loop's `executor` (above)",
            "logger": "where episode results go, or None",
            "counter": "the loop's own counter, or None (runs count through their workers)",
            "label": "`executor_<i>` or `evaluator`",
            "episodes": "episodes finished", "steps": "environment steps taken",
            "restarts": "fresh environments after failures (`run.on_executor_error=restart`)",
            "environment_factory": "`environment_factory(restart)` makes a fresh environment (set by the core)",
            "executors": "`[executor]` (the vector loop's interface)", "num_envs": "1",
            "step": "`step()`: one environment step; the episode's result when it ended",
            "step_batch": "`step_batch()`: `step()` as a list of ended episodes' results",
            "advance": "`advance(actions)`: one step with given actions",
            "ready_observations": "`ready_observations()`: the observations the next actions answer",
            "run_episode": "`run_episode()`: one whole episode; its result",
            "run": "`run(num_episodes=None, num_steps=None)`: many episodes",
            "replace_environment": "`replace_environment()`: close the environment, make a fresh one",
            "close": "`close()`: close the environment",
        },
    ),
    "trainer": (
        "`mava_core.trainer.Trainer`: samples batches and runs the compiled training step.",
        {
            "learner": "the system's learner: `losses(batch)`, `optimisation_groups()`, `policy_variables()`...",
            "iterator": "the batch iterator (`mava_dataset_iterator`)",
            "counter": "the run's counter (`get_counts()`, `increment(**deltas)`)",
            "logger": "where trainer metrics go, or None",
            "device": "the TensorFlow device the step runs on (`mava_trainer_device`), or None",
            "max_gradient_norm": "the clipping norm the core default applies, or None",
            "groups": "the learner's optimisation groups (name, loss names, variables, optimiser)",
            "steps": "training steps completed",
            "last_counts": "the counter's counts after the last step",
            "data_wait_seconds": "time spent waiting for batches", "step_seconds": "time spent in training steps",
            "optimiser_step_disabled": "True under `MAVA_DISABLE_OPTIMISER_STEP=1` (gradients are not applied)",
            "step": "`step()`: one training step (fires the trainer hooks); its metrics",
            "step_counter": "the compiled step's counter variable",
            "get_variables": "`get_variables(names)`: the policy variables as arrays, by group name",
            "state_variables": "`state_variables()`: every variable a checkpoint stores",
            "build_optimiser_state": "`build_optimiser_state()`: create the optimisers' slots now",
            "restored": "`restored()`: continue counting from a restored step counter",
        },
    ),
    "update": (
        "`mava_core.trainer.GradientUpdate`: the gradients about to be applied.",
        {
            "gradients": "one gradient per variable; replace the list to transform them",
            "variables": "the variables, parallel to `gradients`",
            "group": "the optimisation group (`default`, or e.g. `policy` and `critic`)",
        },
    ),
    "program": (
        "`mava_core.program.Program`: the nodes of a run, as a description backends turn into processes.",
        {
            "name": "`SYSTEM-ENVIRONMENT`", "nodes": "the `Node`s (below), in order",
            "add": "`add(node)`: add a node (names are unique)", "remove": "`remove(name)`: remove a node; returns it",
            "by_role": "`by_role(role)`: the nodes of a role", "one": "`one(role)`: the node of a role, or None",
            "required": "`required(role)`: the one node of a role; PluginError when the program has none",
        },
    ),
    "node": (
        "`mava_core.program.Node` (in `program.nodes`).",
        {
            "name": "the node's name", "role": "the node's role (how backends wire it)",
            "make": "the factory backends call in the node's process (keyword arguments by role: see `Node`)",
            "resources": "backend requests: `env` (environment variables), `ray` (Ray actor options)",
        },
    ),
    "spec": (
        "`mava_core.specs.MultiAgentSpec`: the environment's agents and specs (also `context.env_spec`).",
        {
            "agents": "agent id -> `AgentSpec` (`observation`, `action` specs, `discrete`, `num_actions`)",
            "agent_ids": "the agent ids, in order", "num_agents": "how many agents",
            "state": "the global state's spec, or None", "kind": "`parallel` or `sequential` (turn-based)",
            "discrete": "every agent's actions are discrete", "continuous": "every agent's actions are continuous",
            "has_action_masks": "observations carry legal-action masks",
            "homogeneous": "every agent has the same observation and action specs",
        },
    ),
    "registry": (
        "`mava_core.registry.PluginRegistry`, bound to the registering plugin (`mava_register`).",
        {
            "plugin": "the name of the plugin registering",
            "add": "`add(kind, name, target, description='')`: register a component",
            "add_kind": "`add_kind(kind, description)`: declare a new kind of component",
            "add_extra": "`add_extra(package, extra)`: the pip extra that installs `package`",
        },
    ),
    "builder": (
        "`mava_core.system.SystemBuilder`: what assembles the run. Kept for compatibility: read "
        "`context` instead; the builder's attributes may change.",
        {
            "run": "the `RunConfig` (`context.run`)", "system_config": "`context.system_config`",
            "registry": "`context.registry`", "context": "this process's `RunContext`",
            "env_spec": "`context.env_spec`", "backend_traits": "`context.backend`",
            "recorded_spec": "the spec of what executors record: `env_spec` without the global state when the "
                             "system does not read it (`System.reads_state`); dataset plugins build from it",
            "system": "the system plugin's instance", "dataset": "the system's dataset component",
            "checkpointer": "this process's checkpointer (`mava_checkpointer`), or None",
            "resume": "True when launched with `--resume`",
            "resume_from": "the checkpoint being resumed (id, directory, counts), or None",
            "plugin_modules": "plugin modules this run registers in every process",
            "plugin_objects": "plugin objects this run registers in every process",
            "family_name": "the environment family (`debug` of `debug:two_step`)", "task": "the task (`two_step`)",
            "plugin_manager": "the plugin manager", "hooks": "the hook relay (`plugin_manager.hook`)",
            "backend_class": "the backend's class",
            "node_context": "`node_context(node, role)`: a node's `RunContext` in this process",
            "hooks_for": "`hooks_for(context)`: the hook relay that passes `context`",
            "make_environment": "`make_environment(seed, **options)`: a wrapped environment",
            "make_replay_tables": "`make_replay_tables()`: the replay node's tables",
            "make_trainer": "`make_trainer(replay_address, counter, logger)`",
            "make_executor": "`make_executor(index, replay_address, variable_source, evaluation)`: (loop, executor)",
            "make_loggers": "`make_loggers(label, terminal=True)`",
            "executor_seed": "`executor_seed(index, evaluation, copy=0)`", "seed_process": "`seed_process(seed)`",
            "check_vector_acting": "`check_vector_acting()`: refuse copies a system cannot step",
            "build_program": "`build_program()`", "launch": "`launch()`", "save_config": "`save_config()`",
        },
    ),
}

#: arguments that are plain values or objects of other libraries, with what they are
OTHER_ARGUMENTS = {
    "run": "`RunConfig` (`mava_configure`, before any context exists): see `context.run`",
    "system_config": "the system's config dataclass (`mava_configure`)",
    "timestep": "a `dm_env.TimeStep`: `step_type`, `reward` and `discount` (dicts by agent), `observation` "
                "(agent id -> `AgentObservation`: `observation`, `action_mask`); `first()`, `mid()`, `last()`",
    "next_timestep": "the `dm_env.TimeStep` the actions led to (`mava_executor_observe`), laid out as `timestep`",
    "observations": "agent id -> `AgentObservation` (`observation`, `action_mask`)",
    "actions": "agent id -> action (an integer, or an array for continuous actions)",
    "extras": "a mutable dict stored beside each step (`state`, the policy's `extras()`)",
    "result": "a mutable dict: `episode_return`, `team_return`, `episode_length`, `steps_per_second`, env metrics",
    "metrics": "a mutable dict of the step's metrics (floats)",
    "losses": "loss name -> scalar tensor", "batch": "a Reverb `ReplaySample` (`info`, `data`)",
    "client": "a `reverb.Client` of the replay server", "server_address": "`host:port` of the replay server",
    "step": "training steps completed", "wait": "pull variables now (True) or on the period",
    "environment_name": "`family:task`",
    "options": "`RunOptions` (`mava_add_run_options`): `options.add(name, type, default, ...)` declares `run.<name>`",
    "name": "the video's file name without its extension (`mava_evaluation_record`)",
    "commands": "the `mava` command's `argparse` subparsers (`mava_add_commands`): `commands.add_parser(name, ...)`",
}


#: hook -> the processes it fires in (launching process: ``mava run``, a script, ``mava evaluate``)
_NODES = "every node's process (under `local`, the launching process)"
FIRES_IN: Dict[str, str] = {
    "mava_register": "every process that loads plugins, once per plugin",
    "mava_add_run_options": "every process that loads plugins, once per plugin",
    "mava_configure": "the launching process only (also when `--resume` or `mava evaluate` rebuild a saved run)",
    "mava_environment_spec": "the launching process (nodes receive the spec with the run); `mava evaluate`",
    "mava_program_build_nodes": "the launching process only; never under `mava evaluate`",
    "mava_program_launch": "the launching process only",
    "mava_node_start": f"{_NODES}, once per node; `mava evaluate` (node `evaluator`)",
    "mava_evaluation_start": "`mava evaluate`'s process only, once, before the evaluator is built",
    "mava_evaluation_record": "`mava evaluate --record` only",
    "mava_add_commands": "the `mava` command's process only, before its arguments are parsed",
    "mava_dataset_tables": "the replay node",
    "mava_dataset_adder": "executor nodes",
    "mava_dataset_iterator": "the trainer node",
    "mava_checkpointer": "the launching process, each node that saves or restores state (replay, counter, trainer, "
                         "executors, evaluator), `mava evaluate`; once per process",
    "mava_executor_init": "executor and evaluator nodes, `mava evaluate`",
    "mava_executor_observe_first": "executor and evaluator nodes, `mava evaluate`",
    "mava_executor_select_actions": "executor and evaluator nodes, `mava evaluate`",
    "mava_executor_observe": "executor and evaluator nodes, `mava evaluate`",
    "mava_executor_update": "executor and evaluator nodes, `mava evaluate`",
    "mava_trainer_init": "the trainer node", "mava_trainer_device": "the trainer node",
    "mava_trainer_step_start": "the trainer node", "mava_trainer_loss": "the trainer node (while tracing)",
    "mava_trainer_after_gradients": "the trainer node (while tracing)", "mava_trainer_step_end": "the trainer node",
    "mava_env_loop_episode_start": "executor and evaluator nodes, `mava evaluate`",
    "mava_env_loop_step": "executor and evaluator nodes, `mava evaluate`",
    "mava_env_loop_episode_end": "executor and evaluator nodes, `mava evaluate`",
}


def render_objects_reference() -> List[str]:
    """Markdown lines: where each hook fires, one table per object hooks receive, then the other arguments."""
    out = ["## Where hooks fire", "",
           "A run is one launching process (`mava run` or a script) and one process per node (replay, counter, "
           "trainer, executors, evaluator, coordinator) under `launchpad` and `ray`; under `local` every node "
           "runs in the launching process. `mava evaluate` is one process that plays the `evaluator` node. "
           "`context.node` says which node a hook fires in.", "",
           "| Hook | Fires in |", "| --- | --- |"]
    out += [f"| `{hook}` | {where} |" for hook, where in FIRES_IN.items()]
    out += ["", "## What hooks receive", "",
            "Every attribute of every object a hook is called with. Attributes written `name(...)` are methods. "
            "Hooks that fire while a run is built or runs receive `context`, the supported surface; "
            "`builder` is kept for compatibility.", ""]
    for argument, (what, attributes) in OBJECTS.items():
        out += [f"### `{argument}`", "", what, "", "| Attribute | What it is |", "| --- | --- |"]
        out += [f"| `{name}` | {text} |" for name, text in attributes.items()]
        out.append("")
    out += ["### Other arguments", "", "| Argument | What it is |", "| --- | --- |"]
    out += [f"| `{name}` | {text} |" for name, text in OTHER_ARGUMENTS.items()]
    return out + [""]
