"""Every hook specification, exercised through tiny local runs with test plugins.

Each run uses its own fresh :class:`PluginManager` with the test plugins registered by
``pm.register(obj, name=...)``. Runs are expensive next to the assertions on them, so the
tests share two runs (module-scoped fixtures):

* ``recorded``: a plugin implementing every hook that only records (plus a launch wrapper);
* ``extended``: plugins that change behaviour (actions, losses, gradients, episode metrics,
  replay tables, adder, iterator, an extra program node and an environment wrapper).

Hooks that refuse or take over a run are tested without one. ``COVERED`` collects the hooks
each test exercises (``@covers``) and a test fails when a hookspec has no test.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import Counter
from typing import Any, Dict, List

import numpy as np
import pytest
from helpers import local_run, read_csv

from mava_core import cli, hook_objects, hookspecs, plugins
from mava_core.config import RunConfig
from mava_core.environment import EnvironmentWrapper
from mava_core.environment_loop import EnvironmentLoop
from mava_core.errors import ConfigError, PluginError
from mava_core.executor import Executor
from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.program import CUSTOM, EVALUATOR, Node, Program
from mava_core.run_context import BackendTraits
from mava_core.specs import MultiAgentSpec
from mava_core.system import SystemBuilder
from mava_core.trainer import GradientUpdate, Trainer

ENV_STEPS = 300
MIN_SIZE = 50
EPISODE_LENGTH = 2  # debug:two_step
OVERRIDES = {"dataset.min_size": MIN_SIZE, "dataset.batch_size": 16, "dataset.samples_per_insert": 4.0}

#: hook names some test below exercises; filled by ``@covers``
COVERED: set = set()


def covers(*hooks: str):
    """Mark a test as exercising ``hooks`` (checked against the hookspecs by a test below)."""

    def mark(test):
        COVERED.update(hooks)
        return test

    return mark


def _hookspec_names() -> set:
    pm = PluginManager(load_entry_points=False)
    return {name for name, caller in vars(pm.hook).items() if not name.startswith("_") and caller.has_spec()}


def _firstresult_names() -> set:
    pm = PluginManager(load_entry_points=False)
    return {name for name in _hookspec_names() if getattr(pm.hook, name).spec.opts.get("firstresult")}


def _tiny_run(run_dir, pm: PluginManager, overrides: Dict[str, Any] = (), environment: str = "debug:two_step"):
    return local_run(
        run_dir, "madqn", environment, env_steps=ENV_STEPS, overrides={**OVERRIDES, **dict(overrides)},
        eval_episodes=1, random_baseline_episodes=1, plugin_manager=pm,
    )


def _label(executor: Executor) -> str:
    return "evaluator" if executor.is_evaluator else "executor"


# =============================================================== recording every hook
class Recorder:
    """Implements every hook; records what it was called with and returns nothing."""

    def __init__(self):
        self.calls: List[tuple] = []  # (hook name, details)
        self.initial_variables = None
        self.trainer = None

    def _add(self, hook: str, **details: Any) -> None:
        self.calls.append((hook, details))

    def of(self, hook: str, **match: Any) -> List[Dict[str, Any]]:
        return [d for h, d in self.calls if h == hook and all(d.get(k) == v for k, v in match.items())]

    def index(self, hook: str, **match: Any) -> int:
        """Position in the call sequence of the first matching call."""
        return next(i for i, (h, d) in enumerate(self.calls) if h == hook and all(d.get(k) == v for k, v in match.items()))

    @hookimpl
    def mava_register(self, registry):
        self.registry = registry
        self._add("mava_register", plugin=registry.plugin)

    @hookimpl
    def mava_configure(self, run, system_config):
        self._add("mava_configure", run=run, env_steps=run.env_steps, min_size=system_config.dataset.options.min_size)

    @hookimpl
    def mava_environment_spec(self, spec, environment_name):
        self._add("mava_environment_spec", spec=spec, environment_name=environment_name)

    @hookimpl
    def mava_node_start(self, context):
        self._add("mava_node_start", node=context.node, role=context.role, context=context)

    @hookimpl
    def mava_program_build_nodes(self, builder, program, context):
        self._add("mava_program_build_nodes", node=context.node, builder=builder, nodes=[(n.name, n.role) for n in program.nodes])

    @hookimpl
    def mava_program_launch(self, program, builder, context):
        self._add("mava_program_launch", node=context.node, program=program, builder=builder)

    @hookimpl
    def mava_dataset_tables(self, builder, context):
        self._add("mava_dataset_tables", node=context.node, builder=builder)
        return []

    @hookimpl
    def mava_dataset_adder(self, builder, client, context):
        self._add("mava_dataset_adder", node=context.node, client=type(client).__name__)

    @hookimpl
    def mava_dataset_iterator(self, builder, server_address, context):
        self._add("mava_dataset_iterator", node=context.node, server_address=server_address)

    @hookimpl
    def mava_checkpointer(self, builder, context):
        self._add("mava_checkpointer", node=context.node, builder=builder)

    @hookimpl
    def mava_executor_init(self, executor, context):
        self._add("mava_executor_init", node=context.node, label=_label(executor), executor=executor, has_adder=executor.adder is not None)

    @hookimpl
    def mava_executor_observe_first(self, executor, timestep, extras, context):
        self._add("mava_executor_observe_first", node=context.node, label=_label(executor), first=timestep.first(), extras=sorted(extras))

    @hookimpl
    def mava_executor_select_actions(self, executor, observations, context):
        self._add("mava_executor_select_actions", node=context.node, label=_label(executor), agents=sorted(observations))

    @hookimpl
    def mava_executor_observe(self, executor, actions, next_timestep, extras, context):
        self._add("mava_executor_observe", node=context.node, label=_label(executor), agents=sorted(actions), extras=sorted(extras))

    @hookimpl
    def mava_executor_update(self, executor, wait, context):
        self._add("mava_executor_update", node=context.node, label=_label(executor), wait=wait)

    @hookimpl
    def mava_trainer_device(self, builder, context):
        self._add("mava_trainer_device", node=context.node, builder=builder)  # no answer: the placement plugin decides

    @hookimpl
    def mava_trainer_init(self, trainer, context):
        self.trainer = trainer
        self.initial_variables = [v.numpy().copy() for v in trainer.learner.trainable_variables()]
        self._add("mava_trainer_init", node=context.node, trainer=trainer)

    @hookimpl
    def mava_trainer_step_start(self, trainer, step, context):
        self._add("mava_trainer_step_start", node=context.node, step=step)

    @hookimpl
    def mava_trainer_loss(self, trainer, losses, batch, context):
        self._add("mava_trainer_loss", node=context.node, losses=sorted(losses), data=sorted(batch.data))

    @hookimpl
    def mava_trainer_after_gradients(self, trainer, update, context):
        self._add("mava_trainer_after_gradients", node=context.node, update=update, parallel=len(update.gradients) == len(update.variables))

    @hookimpl
    def mava_trainer_step_end(self, trainer, step, metrics, context):
        self._add("mava_trainer_step_end", node=context.node, step=step, metrics=dict(metrics))

    @hookimpl
    def mava_env_loop_episode_start(self, loop, timestep, context):
        self._add("mava_env_loop_episode_start", node=context.node, label=loop.label, loop=loop, first=timestep.first())

    @hookimpl
    def mava_env_loop_step(self, loop, actions, timestep, context):
        self._add("mava_env_loop_step", node=context.node, label=loop.label, actions=dict(actions), last=timestep.last())

    @hookimpl
    def mava_env_loop_episode_end(self, loop, result, context):
        self._add("mava_env_loop_episode_end", node=context.node, label=loop.label, result=dict(result))


class LaunchWrapper:
    """A new-style hook wrapper around the launch: sees the program before and the summary after."""

    def __init__(self):
        self.nodes = None
        self.config_written = None
        self.summary = None

    @hookimpl(wrapper=True)
    def mava_program_launch(self, program, builder):
        self.nodes = [node.name for node in program.nodes]
        self.config_written = os.path.exists(os.path.join(builder.run.run_dir, "config.json"))
        summary = yield
        self.summary = dict(summary)
        return {**summary, "wrapped_by": "launch_wrapper"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("recorded")
    pm = PluginManager()
    recorder, wrapper = Recorder(), LaunchWrapper()
    pm.register(recorder, name="recorder")
    pm.register(wrapper, name="launch_wrapper")
    summary, builder = _tiny_run(run_dir, pm)
    return recorder, wrapper, summary, builder, run_dir


@covers("mava_register")
def test_every_hook_fires_in_a_run(recorded):
    recorder, _, summary, _, _ = recorded
    fired = {hook for hook, _ in recorder.calls}
    expected = _hookspec_names() - OUTSIDE_A_RUN
    assert fired == expected, f"never fired: {sorted(expected - fired)}"
    # registration comes first, once, attributed to the plugin's name
    assert recorder.calls[0] == ("mava_register", {"plugin": "recorder"})
    assert len(recorder.of("mava_register")) == 1
    assert summary["env_steps"] == ENV_STEPS and summary["trainer_steps"] > 0


@covers("mava_configure", "mava_environment_spec", "mava_program_build_nodes", "mava_program_launch",
        "mava_dataset_tables", "mava_dataset_adder", "mava_dataset_iterator", "mava_trainer_init", "mava_checkpointer",
        "mava_trainer_device")
def test_per_run_hooks_fire_once_with_their_arguments_in_build_order(recorded):
    recorder, _, _, builder, _ = recorded
    once = ["mava_configure", "mava_environment_spec", "mava_program_build_nodes", "mava_program_launch",
            "mava_dataset_tables", "mava_dataset_adder", "mava_dataset_iterator", "mava_trainer_init", "mava_checkpointer",
            "mava_trainer_device"]
    for hook in once:
        assert len(recorder.of(hook)) == 1, hook
    positions = [recorder.index(hook) for hook in once[:5]]
    assert positions == sorted(positions), "configure, spec, build_nodes, launch, tables: in that order"
    # the replay server is up before anything writes to or samples from it
    assert recorder.index("mava_dataset_tables") < recorder.index("mava_dataset_adder")
    assert recorder.index("mava_dataset_iterator") < recorder.index("mava_trainer_init")
    # the trainer's device is settled before its networks and dataset are made; the placement plugin answered
    assert recorder.index("mava_trainer_device") < recorder.index("mava_dataset_iterator")
    assert recorder.of("mava_trainer_device")[0]["builder"] is builder
    assert recorder.trainer.device in ("/CPU:0", "/GPU:0")

    (configure,) = recorder.of("mava_configure")
    assert configure["run"] is builder.run
    assert (configure["env_steps"], configure["min_size"]) == (ENV_STEPS, MIN_SIZE)  # after overrides
    (spec,) = recorder.of("mava_environment_spec")
    assert isinstance(spec["spec"], MultiAgentSpec) and spec["spec"].agent_ids == ["agent_0", "agent_1"]
    assert spec["environment_name"] == "debug:two_step"
    (build,) = recorder.of("mava_program_build_nodes")
    assert build["builder"] is builder
    assert build["nodes"] == [("replay", "replay"), ("counter", "counter"), ("trainer", "trainer"),
                              ("executor_0", "executor"), ("evaluator", "evaluator"), ("coordinator", "coordinator")]
    # the checkpointer is asked for before launch (to check the run directory), once per process
    (checkpointer,) = recorder.of("mava_checkpointer")
    assert checkpointer["builder"] is builder
    assert recorder.index("mava_program_build_nodes") < recorder.index("mava_checkpointer") < recorder.index("mava_program_launch")
    (launch,) = recorder.of("mava_program_launch")
    assert isinstance(launch["program"], Program) and launch["builder"] is builder
    assert recorder.of("mava_dataset_adder")[0]["client"] == "Client"
    assert re.fullmatch(r"localhost:\d+", recorder.of("mava_dataset_iterator")[0]["server_address"])


@covers("mava_executor_init", "mava_executor_observe_first", "mava_executor_select_actions",
        "mava_executor_observe", "mava_executor_update", "mava_env_loop_episode_start", "mava_env_loop_step",
        "mava_env_loop_episode_end")
def test_acting_hooks_fire_in_order_with_counts_matching_the_budget(recorded):
    recorder, _, summary, _, _ = recorded
    inits = recorder.of("mava_executor_init")
    assert [(i["label"], i["has_adder"]) for i in inits] == [("evaluator", False), ("executor", True)]
    assert all(isinstance(i["executor"], Executor) for i in inits)

    codes = {
        "mava_executor_init": "I", "mava_executor_observe_first": "F", "mava_env_loop_episode_start": "S",
        "mava_executor_select_actions": "A", "mava_executor_observe": "O", "mava_executor_update": "U",
        "mava_env_loop_step": "T", "mava_env_loop_episode_end": "E",
    }

    def trace(label: str, loop_label: str) -> str:
        return "".join(
            codes[hook] + ("w" if details.get("wait") else "")
            for hook, details in recorder.calls
            if hook in codes and details.get("label") in (label, loop_label)
        )

    episodes = ENV_STEPS // EPISODE_LENGTH
    # executor: built, parameters pulled at once, then per episode: observe_first, episode_start,
    # and per step select, observe, update (no wait), loop step; episode_end after the last step
    step = "AOUT"
    assert trace("executor", "executor_0") == "IUw" + ("FS" + step * EPISODE_LENGTH + "E") * episodes
    # evaluator: no per-step update; a waiting update before each evaluation's episode
    evaluations = len(summary["evaluations"])
    assert trace("evaluator", "evaluator") == "I" + ("Uw" + "FS" + "AOT" * EPISODE_LENGTH + "E") * evaluations

    starts = recorder.of("mava_env_loop_episode_start", label="executor_0")
    assert all(s["first"] and isinstance(s["loop"], EnvironmentLoop) for s in starts)
    # the two-step game has a global state, but MADQN does not read it, so none is asked for or stored
    assert all(d["first"] and d["extras"] == [] for d in recorder.of("mava_executor_observe_first"))
    for d in recorder.of("mava_executor_observe") + recorder.of("mava_executor_select_actions"):
        assert d["agents"] == ["agent_0", "agent_1"]
    steps = recorder.of("mava_env_loop_step", label="executor_0")
    assert [s["last"] for s in steps] == [False, True] * episodes
    assert all(set(s["actions"]) == {"agent_0", "agent_1"} for s in steps)
    ends = recorder.of("mava_env_loop_episode_end", label="executor_0")
    assert [e["result"]["episodes"] for e in ends] == list(range(1, episodes + 1))
    assert all(e["result"]["episode_length"] == EPISODE_LENGTH and "payoff" in e["result"] for e in ends)
    assert summary["episodes"] == episodes


@covers("mava_trainer_init", "mava_trainer_step_start", "mava_trainer_step_end", "mava_trainer_loss",
        "mava_trainer_after_gradients")
def test_trainer_hooks_fire_in_order_and_trace_time_hooks_fire_once_per_compilation(recorded):
    recorder, _, summary, builder, _ = recorded
    trainer_steps = summary["trainer_steps"]
    assert trainer_steps == builder.dataset.trainer_steps_due(ENV_STEPS)  # the budget's data ratio
    assert isinstance(recorder.of("mava_trainer_init")[0]["trainer"], Trainer)
    starts, ends = recorder.of("mava_trainer_step_start"), recorder.of("mava_trainer_step_end")
    assert [s["step"] for s in starts] == list(range(trainer_steps))
    assert [e["step"] for e in ends] == list(range(1, trainer_steps + 1))
    init = recorder.index("mava_trainer_init")
    assert init < recorder.index("mava_trainer_step_start") < recorder.index("mava_trainer_step_end")
    # the evaluator's first parameter pull builds the trainer, before any executor acts
    assert init < recorder.index("mava_executor_init", label="executor")
    # training starts with the first step the data ratio owes, at or after min_size transitions
    # (one transition per executor step here)
    first_step = recorder.index("mava_trainer_step_start")
    observed_before_training = sum(
        1 for hook, d in recorder.calls[:first_step] if hook == "mava_executor_observe" and d["label"] == "executor"
    )
    first_due = next(n for n in range(ENV_STEPS + 1) if builder.dataset.trainer_steps_due(n) > 0)
    assert observed_before_training == first_due >= MIN_SIZE
    for end in ends:
        metrics = end["metrics"]
        assert {"loss/q_loss", "loss/total", "gradient_norm", "trainer_steps"} <= set(metrics)
        assert metrics["trainer_steps"] == end["step"]
    # loss and gradient hooks run while tracing the compiled step, not on every step
    for hook in ("mava_trainer_loss", "mava_trainer_after_gradients"):
        traced = recorder.of(hook)
        assert 1 <= len(traced) <= 2 < trainer_steps, hook
        assert recorder.index(hook) > recorder.index("mava_trainer_step_start")
    loss = recorder.of("mava_trainer_loss")[0]
    assert loss["losses"] == ["q_loss"]  # "_"-prefixed learner outputs are not losses
    assert {"observations", "actions", "rewards", "next_observations"} <= set(loss["data"])
    gradients = recorder.of("mava_trainer_after_gradients")[0]
    assert isinstance(gradients["update"], GradientUpdate) and gradients["parallel"]
    # unhindered training moves the weights (contrast with test_zeroed_gradients_...)
    after = [v.numpy() for v in recorder.trainer.learner.trainable_variables()]
    assert any(not np.array_equal(a, b) for a, b in zip(recorder.initial_variables, after))


@covers("mava_executor_update")
def test_executor_update_pulls_parameters_on_its_period(recorded):
    recorder, _, summary, builder, _ = recorded
    executor_updates = recorder.of("mava_executor_update", label="executor")
    assert Counter(u["wait"] for u in executor_updates) == {True: 1, False: ENV_STEPS}
    evaluator_updates = recorder.of("mava_executor_update", label="evaluator")
    assert [u["wait"] for u in evaluator_updates] == [True] * len(summary["evaluations"])
    # the default implementation still ran behind the recorder: pulls on wait and every period
    period = builder.system_config.variable_update_period
    executor = recorder.of("mava_executor_init", label="executor")[0]["executor"]
    assert executor.variable_client.updates == 1 + ENV_STEPS // period
    evaluator = recorder.of("mava_executor_init", label="evaluator")[0]["executor"]
    assert evaluator.variable_client.updates == len(summary["evaluations"])


@covers("mava_program_launch")
def test_launch_wrapper_sees_the_program_and_the_summary(recorded):
    _, wrapper, summary, _, run_dir = recorded
    assert wrapper.nodes == ["replay", "counter", "trainer", "executor_0", "evaluator", "coordinator"]
    assert wrapper.config_written  # the builder saved the config before launching
    assert wrapper.summary["env_steps"] == ENV_STEPS and wrapper.summary["trainer_steps"] > 0
    assert summary["wrapped_by"] == "launch_wrapper"  # what the wrapper returns is the result
    assert {k: v for k, v in summary.items() if k != "wrapped_by"} == wrapper.summary
    with open(os.path.join(run_dir, "summary.json")) as handle:
        assert "wrapped_by" not in json.load(handle)  # written by the backend, inside the wrapper


# ============================================================ plugins that change a run
class ZeroActions:
    """Training executors always play action 0 (the evaluator keeps its greedy policy)."""

    @hookimpl
    def mava_executor_select_actions(self, executor, observations):
        if executor.is_evaluator:
            return None
        return {agent: np.int32(0) for agent in observations}


class ActionSpy(EnvironmentWrapper):
    """An env_wrapper that records the actions the environment receives."""

    def __init__(self, environment, received: Dict[str, List[dict]]):
        super().__init__(environment)
        self.label = "unlabelled"
        self._received = received

    def step(self, actions):
        self._received.setdefault(self.label, []).append({a: int(v) for a, v in actions.items()})
        return super().step(actions)


class SpyPlugin:
    """Registers the ``action_spy`` env_wrapper and labels each spy with its loop's label."""

    def __init__(self):
        self.received: Dict[str, List[dict]] = {}

    @hookimpl
    def mava_register(self, registry):
        registry.add("env_wrapper", "action_spy", lambda environment: ActionSpy(environment, self.received))

    @hookimpl
    def mava_env_loop_episode_start(self, loop, timestep):
        environment = loop.environment
        while not isinstance(environment, ActionSpy):
            environment = environment.environment
        environment.label = loop.label


class ConstantLoss:
    """Adds a named constant loss term; records what it saw."""

    VALUE = 0.25

    def __init__(self):
        self.seen_losses = None

    @hookimpl
    def mava_trainer_loss(self, trainer, losses, batch):
        import tensorflow as tf

        self.seen_losses = sorted(losses)
        return {"hook_constant": tf.constant(self.VALUE)}


class EpisodeMetric:
    """Adds ``hook_metric`` (10 x episode length) to every episode's result."""

    @hookimpl
    def mava_env_loop_episode_end(self, loop, result):
        result["hook_metric"] = 10.0 * result["episode_length"]


DIAGNOSTICS = "diagnostics"


class CountingAdder:
    """Wraps the system's adder: counts calls and writes each episode's return to a second table."""

    def __init__(self, inner, client):
        self.inner = inner
        self.client = client
        self.firsts = 0
        self.adds = 0
        self.actions: List[dict] = []
        self._return = 0.0

    @property
    def should_stop(self):
        return self.inner.should_stop

    @should_stop.setter
    def should_stop(self, value):
        self.inner.should_stop = value

    def add_first(self, timestep, extras):
        self.firsts += 1
        self._return = 0.0
        self.inner.add_first(timestep, extras)

    def add(self, actions, next_timestep, extras):
        self.adds += 1
        self.actions.append({a: int(v) for a, v in actions.items()})
        self._return += float(next_timestep.reward["agent_0"])
        self.inner.add(actions, next_timestep, extras)
        if next_timestep.last():
            self.client.insert(np.float32(self._return), priorities={DIAGNOSTICS: 1.0})


class CountingIterator:
    def __init__(self, inner):
        self.inner = inner
        self.batches = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.batches += 1
        return next(self.inner)


class ReplayExtensions:
    """An extra table; the adder and iterator wrapped by hook wrappers around the defaults."""

    def __init__(self):
        self.adders: List[CountingAdder] = []
        self.iterators: List[CountingIterator] = []

    @hookimpl
    def mava_dataset_tables(self, builder):
        import reverb

        return [reverb.Table(DIAGNOSTICS, reverb.selectors.Uniform(), reverb.selectors.Fifo(), 10_000,
                             reverb.rate_limiters.MinSize(1))]

    @hookimpl(wrapper=True)
    def mava_dataset_adder(self, builder, client):
        adder = CountingAdder((yield), client)
        self.adders.append(adder)
        return adder

    @hookimpl(wrapper=True)
    def mava_dataset_iterator(self, builder, server_address):
        iterator = CountingIterator((yield))
        self.iterators.append(iterator)
        return iterator


class Monitor:
    """A custom node: the local backend calls ``step()`` once per round of executor steps."""

    def __init__(self, replay_address, variable_source, counter, stop):
        import reverb

        self.client = reverb.Client(replay_address)
        self.counter = counter
        self.variable_source = variable_source
        self.env_steps: List[int] = []
        self.table_sizes: Dict[str, int] = {}

    def step(self):
        self.env_steps.append(int(self.counter.get_counts().get("env_steps", 0)))
        self.table_sizes = {name: info.current_size for name, info in self.client.server_info().items()}

    def run(self):  # pragma: no cover - used by process-per-node backends only
        raise NotImplementedError


class MonitorNode:
    def __init__(self):
        self.monitors: List[Monitor] = []
        self.seen_nodes = None

    @hookimpl
    def mava_program_build_nodes(self, builder, program):
        self.seen_nodes = [node.name for node in program.nodes]

        def make(**handles):
            monitor = Monitor(**handles)
            self.monitors.append(monitor)
            return monitor

        program.add(Node("monitor", CUSTOM, make))


class ZeroGradients:
    def __init__(self):
        self.trainer = None
        self.initial = None
        self.norms: List[float] = []

    @hookimpl
    def mava_trainer_init(self, trainer):
        self.trainer = trainer
        self.initial = [v.numpy().copy() for v in trainer.learner.trainable_variables()]

    @hookimpl
    def mava_trainer_after_gradients(self, trainer, update):
        import tensorflow as tf

        update.gradients = [tf.zeros_like(g) for g in update.gradients]

    @hookimpl
    def mava_trainer_step_end(self, trainer, step, metrics):
        self.norms.append(metrics["gradient_norm"])


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("extended")
    pm = PluginManager()
    parts = {
        "zero_actions": ZeroActions(), "spy": SpyPlugin(), "constant_loss": ConstantLoss(),
        "episode_metric": EpisodeMetric(), "replay_extensions": ReplayExtensions(), "monitor_node": MonitorNode(),
        "zero_gradients": ZeroGradients(),
    }
    for name, plugin in parts.items():
        pm.register(plugin, name=name)
    summary, builder = _tiny_run(run_dir, pm, overrides={"run.env_wrappers": "action_spy"})
    return parts, summary, builder, run_dir


@covers("mava_executor_select_actions", "mava_register")
def test_select_actions_override_changes_what_the_environment_receives(extended):
    parts, summary, builder, run_dir = extended
    received = parts["spy"].received  # via an env_wrapper the plugin registered in mava_register
    assert builder.registry.entry("env_wrapper", "action_spy").plugin == "spy"
    assert len(received["executor_0"]) == ENV_STEPS
    assert all(actions == {"agent_0": 0, "agent_1": 0} for actions in received["executor_0"])
    assert received["evaluator"]  # the evaluator acted too, with its own policy
    # agent_0 playing 0 first always leads to state 2A, which pays 7 whatever comes next
    rows = read_csv(run_dir / "logs" / "executor_0.csv")
    assert len(rows) == ENV_STEPS // EPISODE_LENGTH
    assert {float(r["payoff"]) for r in rows} == {7.0}
    # the adder stored the actions that were taken
    assert {tuple(a.values()) for a in parts["replay_extensions"].adders[0].actions} == {(0, 0)}


@covers("mava_trainer_loss")
def test_loss_hook_adds_a_named_term_to_the_total_and_the_metrics(extended):
    parts, summary, _, run_dir = extended
    assert parts["constant_loss"].seen_losses == ["q_loss"]
    rows = read_csv(run_dir / "logs" / "trainer.csv")
    assert rows and summary["trainer_steps"] > 0
    for row in rows:
        assert float(row["loss/hook_constant"]) == pytest.approx(ConstantLoss.VALUE)
        assert float(row["loss/total"]) == pytest.approx(float(row["loss/q_loss"]) + ConstantLoss.VALUE, rel=1e-5)


@covers("mava_env_loop_episode_end")
def test_episode_end_metric_reaches_executor_and_evaluator_logs(extended):
    _, summary, _, run_dir = extended
    executor_rows = read_csv(run_dir / "logs" / "executor_0.csv")
    assert {float(r["hook_metric"]) for r in executor_rows} == {10.0 * EPISODE_LENGTH}
    evaluator_rows = read_csv(run_dir / "logs" / "evaluator.csv")
    assert len(evaluator_rows) == len(summary["evaluations"])
    assert {float(r["mean_hook_metric"]) for r in evaluator_rows} == {10.0 * EPISODE_LENGTH}
    assert summary["evaluations"][-1]["mean_hook_metric"] == 10.0 * EPISODE_LENGTH


@covers("mava_dataset_tables", "mava_dataset_adder", "mava_dataset_iterator")
def test_replay_hooks_extend_tables_and_wrap_adder_and_iterator(extended):
    parts, summary, _, _ = extended
    replay = parts["replay_extensions"]
    (adder,) = replay.adders  # one executor; the evaluator writes nothing
    episodes = ENV_STEPS // EPISODE_LENGTH
    assert (adder.firsts, adder.adds) == (episodes, ENV_STEPS)
    assert adder.inner.items_written == ENV_STEPS  # the default adder still did its work (n_step=1)
    (iterator,) = replay.iterators
    assert iterator.batches == summary["trainer_steps"]
    # the server hosted both tables: the default one and the plugin's, filled by the adder wrapper
    (monitor,) = parts["monitor_node"].monitors
    assert set(monitor.table_sizes) == {"transitions", DIAGNOSTICS}
    assert monitor.table_sizes[DIAGNOSTICS] == episodes
    assert monitor.table_sizes["transitions"] == ENV_STEPS


@covers("mava_program_build_nodes")
def test_custom_node_is_stepped_by_the_local_backend(extended):
    parts, _, _, _ = extended
    node = parts["monitor_node"]
    assert node.seen_nodes == ["replay", "counter", "trainer", "executor_0", "evaluator", "coordinator"]
    (monitor,) = node.monitors
    assert monitor.env_steps == list(range(1, ENV_STEPS + 1))  # once per round, after the executors
    assert monitor.variable_source is not None


@covers("mava_trainer_after_gradients")
def test_zeroed_gradients_leave_the_trainable_variables_unchanged(extended):
    parts, summary, _, _ = extended
    plugin = parts["zero_gradients"]
    assert summary["trainer_steps"] > 10
    assert len(plugin.norms) == summary["trainer_steps"]
    assert set(plugin.norms) == {0.0}  # the metric sees the transformed gradients
    after = [v.numpy() for v in plugin.trainer.learner.trainable_variables()]
    assert len(after) == len(plugin.initial) > 0
    for before, now in zip(plugin.initial, after):
        np.testing.assert_array_equal(before, now)


# ===================================================================== without a run
def _builder(tmp_path, pm: PluginManager, environment: str = "debug:two_step", overrides=()) -> SystemBuilder:
    run = RunConfig(system="madqn", environment=environment, env_steps=ENV_STEPS, run_dir=str(tmp_path / "run"), loggers=("csv",))
    return SystemBuilder(run, overrides=overrides, plugin_manager=pm)


class Configure:
    def __init__(self, refuse: bool = False, discount: float = 0.9):
        self.refuse = refuse
        self.discount = discount
        self.seen = None

    @hookimpl
    def mava_configure(self, run, system_config):
        self.seen = (run.env_steps, system_config.learning_rate)
        if self.refuse and system_config.learning_rate > 0.01:
            raise ConfigError("learning_rate", "this lab caps learning_rate at 0.01")
        system_config.discount = self.discount
        run.eval_episodes = 3


@covers("mava_configure")
def test_configure_adjusts_settings_after_overrides(tmp_path):
    pm = PluginManager()
    plugin = Configure()
    pm.register(plugin, name="configure")
    builder = _builder(tmp_path, pm, overrides=["learning_rate=0.005", "discount=0.5"])
    assert plugin.seen == (ENV_STEPS, 0.005)
    assert builder.system_config.discount == 0.9  # the plugin's value wins over the override
    assert builder.run.eval_episodes == 3


@covers("mava_configure")
def test_configure_refuses_with_a_config_error_and_its_changes_are_validated(tmp_path):
    pm = PluginManager()
    pm.register(Configure(refuse=True), name="configure")
    with pytest.raises(ConfigError, match=r"^config key 'learning_rate': this lab caps learning_rate at 0\.01$"):
        _builder(tmp_path, pm, overrides=["learning_rate=0.05"])
    _builder(tmp_path, pm, overrides=["learning_rate=0.001"])  # accepted

    pm = PluginManager()
    pm.register(Configure(discount=5.0), name="bad_configure")
    with pytest.raises(ConfigError, match=r"^config key 'discount': must be <= 1\.0, got 5\.0$"):
        _builder(tmp_path, pm)


class TwoAgentsOnly:
    def __init__(self):
        self.seen: List[tuple] = []

    @hookimpl
    def mava_environment_spec(self, spec, environment_name):
        self.seen.append((environment_name, spec.num_agents))
        if spec.num_agents != 2:
            raise ConfigError("environment", f"this lab only runs two-agent games; {environment_name} has {spec.num_agents}")


@covers("mava_environment_spec")
def test_environment_spec_hook_refuses_an_environment(tmp_path, monkeypatch, capsys):
    pm = PluginManager()
    plugin = TwoAgentsOnly()
    pm.register(plugin, name="two_agents_only")
    assert _builder(tmp_path, pm).env_spec.num_agents == 2
    builder = _builder(tmp_path, pm, environment="debug:simple_spread")
    message = r"^config key 'environment': this lab only runs two-agent games; debug:simple_spread has 3$"
    with pytest.raises(ConfigError, match=message):
        builder.launch()
    assert not os.path.exists(builder.run.run_dir)  # refused before anything was written
    assert plugin.seen == [("debug:two_step", 2), ("debug:simple_spread", 3)]

    # the command line reports the refusal as a user mistake
    monkeypatch.setattr(plugins, "_DEFAULT", pm)
    status = cli.main(["run", "madqn", "debug:simple_spread", "--run-dir", str(tmp_path / "cli")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip() == "mava: error: config key 'environment': this lab only runs two-agent games; debug:simple_spread has 3"


class TakeOverLaunch:
    @hookimpl
    def mava_program_launch(self, program, builder):
        return {"env_steps": 0, "trainer_steps": 0, "launched_by": "take_over", "nodes": len(program.nodes)}


@covers("mava_program_launch")
def test_a_plugin_returning_a_summary_takes_over_the_launch(tmp_path):
    pm = PluginManager()
    pm.register(TakeOverLaunch(), name="take_over")
    builder = _builder(tmp_path, pm)
    summary = builder.launch()
    assert summary == {"env_steps": 0, "trainer_steps": 0, "launched_by": "take_over", "nodes": 6}
    assert os.listdir(builder.run.run_dir) == ["config.json"]  # no backend ran: no logs, no summary


class DropNode:
    """Removes a standard node the run needs, by name."""

    def __init__(self, node: str):
        self.node = node

    @hookimpl
    def mava_program_build_nodes(self, program):
        program.remove(self.node)


@covers("mava_program_build_nodes")
@pytest.mark.parametrize("node", ["evaluator", "coordinator", "trainer"])
def test_a_program_whose_hooks_removed_a_node_the_run_needs_is_refused_naming_it(node, tmp_path):
    pm = PluginManager()
    pm.register(DropNode(node), name="drop_node")
    with pytest.raises(PluginError, match=rf"has no {node} node \(a mava_program_build_nodes hook removed it\); "
                                          rf"the run needs one: .*Replace the node with another of role '{node}'"):
        _builder(tmp_path, pm).build_program()


class ReplaceEvaluator:
    """Replaces the evaluator node by another of the same role."""

    @hookimpl
    def mava_program_build_nodes(self, program):
        make = program.remove("evaluator").make
        program.add(Node("greedy_evaluator", EVALUATOR, make))


@covers("mava_program_build_nodes")
def test_a_standard_node_may_be_replaced_by_another_of_its_role(tmp_path):
    pm = PluginManager()
    pm.register(ReplaceEvaluator(), name="replace_evaluator")
    program = _builder(tmp_path, pm).build_program()
    assert [node.name for node in program.nodes] == ["replay", "counter", "trainer", "executor_0", "coordinator",
                                                     "greedy_evaluator"]


@covers("mava_node_start")
def test_hooks_receive_the_context_of_the_node_they_fire_in(recorded):
    recorder, _, _, builder, run_dir = recorded
    started = recorder.of("mava_node_start")
    assert [(c["node"], c["role"]) for c in started] == [
        ("replay", "replay"), ("counter", "counter"), ("trainer", "trainer"), ("executor_0", "executor"),
        ("evaluator", "evaluator"), ("coordinator", "coordinator")]  # once each, in the order the backend made them
    context = started[2]["context"]
    assert context.run is builder.run and context.system_config is builder.system_config
    assert context.registry is builder.registry and context.run_dir == str(run_dir) and context.seed == builder.run.seed
    assert context.backend == BackendTraits(name="local", interleaves_nodes=True) and context.resumed is False
    assert context.env_spec.agent_ids == ["agent_0", "agent_1"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.node = "other"
    # every hook fired with a context gets its node's
    nodes = {}
    for hook, details in recorder.calls:
        if "node" in details and hook != "mava_node_start":
            nodes.setdefault(hook, set()).add((details.get("label") or "", details["node"]))
    assert nodes["mava_program_build_nodes"] == nodes["mava_program_launch"] == {("", "launcher")}
    assert nodes["mava_checkpointer"] == {("", "launcher")}  # the local backend: one process
    assert nodes["mava_dataset_tables"] == {("", "replay")}
    assert nodes["mava_dataset_adder"] == {("", "executor_0")}
    assert nodes["mava_dataset_iterator"] == nodes["mava_trainer_step_end"] == nodes["mava_trainer_loss"] == {("", "trainer")}
    assert nodes["mava_executor_select_actions"] == {("executor", "executor_0"), ("evaluator", "evaluator")}
    assert nodes["mava_env_loop_episode_end"] == {("executor_0", "executor_0"), ("evaluator", "evaluator")}


def _public(obj: Any) -> set:
    return {name for name in dir(obj) if not name.startswith("_")}


def test_every_attribute_of_the_objects_hooks_receive_is_documented(recorded):
    """docs/hooks.md's tables (mava_core.hook_objects) list exactly the public attributes of the live objects."""
    recorder, _, _, builder, _ = recorded
    context = recorder.of("mava_node_start")[0]["context"]
    program = recorder.of("mava_program_launch")[0]["program"]
    live = {
        "context": context, "context.backend": context.backend,
        "executor": recorder.of("mava_executor_init")[0]["executor"],
        "loop": recorder.of("mava_env_loop_episode_start")[0]["loop"],
        "trainer": recorder.trainer, "update": recorder.of("mava_trainer_after_gradients")[0]["update"],
        "program": program, "node": program.nodes[0], "spec": recorder.of("mava_environment_spec")[0]["spec"],
        "registry": recorder.registry, "builder": builder,
    }
    assert set(hook_objects.OBJECTS) == set(live)
    for argument, obj in live.items():
        documented = set(hook_objects.OBJECTS[argument][1])
        assert _public(obj) == documented, (argument, "undocumented:", sorted(_public(obj) - documented),
                                            "documented but absent:", sorted(documented - _public(obj)))
    # every argument of every hook is described
    pm = PluginManager(load_entry_points=False)
    arguments = {arg for name in _hookspec_names() for arg in getattr(pm.hook, name).spec.argnames}
    described = set(hook_objects.OBJECTS) | set(hook_objects.OTHER_ARGUMENTS)
    assert arguments <= described, sorted(arguments - described)
    assert set(hook_objects.FIRES_IN) == _hookspec_names()  # and where every hook fires


# ================================================== hooks that fire outside a run
#: fired by the ``mava`` command (its parser), by plugin registration, or by ``mava evaluate``: never by a run
OUTSIDE_A_RUN = {"mava_add_commands", "mava_add_run_options", "mava_evaluation_start", "mava_evaluation_record"}


class CommandAndOption:
    """A plugin adding ``mava probe`` and ``run.probe_level``, as a third party would."""

    def __init__(self):
        self.ran: List[tuple] = []

    @hookimpl
    def mava_add_run_options(self, options):
        options.add("probe_level", int, 3, minimum=0, help="a probe's setting")

    @hookimpl
    def mava_add_commands(self, commands):
        parser = commands.add_parser("probe", help="a plugin's command")
        parser.add_argument("--level", type=int, default=1)
        parser.set_defaults(mava_command=lambda args, pm: self.ran.append((args.level, pm)) or 7)


@covers("mava_add_commands", "mava_add_run_options")
def test_a_plugin_adds_a_command_and_a_run_option(tmp_path):
    plugins.reset_plugin_manager()
    try:
        pm = plugins.get_plugin_manager()
        probe = CommandAndOption()
        pm.register(probe, name="probe")
        assert pm.run_options["probe_level"].plugin == "probe"
        run = RunConfig(system="madqn", environment="debug:two_step", probe_level=5, run_dir=str(tmp_path))
        assert SystemBuilder(run, plugin_manager=pm).run.probe_level == 5
        with pytest.raises(ConfigError, match="run.probe_level"):
            SystemBuilder(RunConfig(system="madqn", environment="debug:two_step", probe_level=-1,
                                    run_dir=str(tmp_path)), plugin_manager=pm)
        assert cli.main(["probe", "--level", "4"]) == 7  # the command's own exit status
        assert probe.ran == [(4, pm)]
    finally:
        plugins.reset_plugin_manager()


class EvaluationProbe:
    """Sees ``mava evaluate --record`` start and records the episode itself (a file, not a video)."""

    def __init__(self):
        self.calls: List[tuple] = []

    @hookimpl
    def mava_evaluation_start(self, builder):
        self.calls.append(("start", builder.run.record_eval))

    @hookimpl
    def mava_evaluation_record(self, builder, loop, name):
        result = loop.run_episode()
        path = os.path.join(builder.run.run_dir, f"{name}.probe")
        with open(path, "w") as handle:
            handle.write(json.dumps(result["episode_return"] if "episode_return" in result else 0.0, default=float))
        self.calls.append(("record", name))
        return {**result, "video": path}


@covers("mava_evaluation_start", "mava_evaluation_record")
def test_evaluate_record_fires_the_evaluation_hooks(tmp_path):
    run_dir = tmp_path / "run"
    _tiny_run(run_dir, PluginManager(), environment="debug:simple_spread")
    plugins.reset_plugin_manager()
    try:
        probe = EvaluationProbe()
        plugins.get_plugin_manager().register(probe, name="evaluation_probe")  # called before `recording`
        assert cli.main(["evaluate", str(run_dir), "--episodes", "1", "--record"]) == 0
    finally:
        plugins.reset_plugin_manager()
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert [call[0] for call in probe.calls] == ["start", "record"] and probe.calls[0] == ("start", True)
    assert evaluation["video"] == str(run_dir / f"{probe.calls[1][1]}.probe") and os.path.exists(evaluation["video"])
    assert probe.calls[1][1].startswith("checkpoint_")


# ======================================================================== coverage
def test_every_hookspec_is_covered_by_a_test():
    specs = _hookspec_names()
    assert specs, "no hook specifications found"
    missing, stale = specs - COVERED, COVERED - specs
    assert not missing, f"hookspecs without a test in {__name__}: {sorted(missing)}"
    assert not stale, f"tests claim to cover hooks that no longer exist: {sorted(stale)}"
    # the specs found through the plugin manager are exactly the module's @hookspec functions
    marked = {name for name in dir(hookspecs) if name.startswith("mava_") and hasattr(getattr(hookspecs, name), "mava_spec")}
    assert marked == specs
    assert _firstresult_names() == {
        "mava_program_launch", "mava_dataset_adder", "mava_dataset_iterator", "mava_executor_select_actions",
        "mava_checkpointer", "mava_trainer_device", "mava_evaluation_record",
    }
