"""The config layer: ``key=value`` overrides on the run and system configs, validation, describe().

Nothing here trains; builders are made on a fresh plugin manager and at most read the
environment's spec (numpy only).
"""
from __future__ import annotations

import dataclasses
import re

import pytest

from mava_core import config as cfg
from mava_core import hookimpl
from mava_core.config import Component, RunConfig
from mava_core.errors import ConfigError, MavaError, UnknownNameError
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder
from mava_plugins.exploration.schedules import ExponentialEpsilon, LinearEpsilon
from mava_plugins.systems.madqn.system import MADQNConfig

SYSTEM_KEYS = ", ".join(f.name for f in dataclasses.fields(MADQNConfig))
#: run keys the built-in plugins declare (mava_add_run_options), after the core's own, by plugin name
PLUGIN_RUN_KEYS = [
    "checkpoint", "checkpoint_every", "checkpoint_every_seconds", "checkpoint_keep",  # checkpointing
    "device",  # placement
    "record_eval", "record_format", "record_fps",  # recording
]
RUN_KEYS = ", ".join([f.name for f in dataclasses.fields(RunConfig)] + PLUGIN_RUN_KEYS)
_REGISTRY = PluginManager().registry


def names(kind: str) -> str:
    """What an unknown-name message lists for ``kind``: every registered name, sorted."""
    return ", ".join(_REGISTRY.names(kind))


@pytest.fixture(scope="module")
def pm():
    return PluginManager()


def build(pm, overrides=(), environment="debug:two_step", tmp_dir="unused-run-dir") -> SystemBuilder:
    run = RunConfig(system="madqn", environment=environment, run_dir=tmp_dir, loggers=("csv",))
    return SystemBuilder(run, overrides=overrides, plugin_manager=pm)


# --------------------------------------------------------------------------- bad inputs
BAD_INPUTS = [
    # (overrides, error class, the whole message)
    (["nope=1"], ConfigError, f"config key 'nope': unknown key; valid keys here are: {SYSTEM_KEYS}"),
    (
        ["dataset.nope=1"],
        ConfigError,
        "config key 'dataset.nope': unknown key; valid keys here are: max_size, min_size, batch_size, "
        "samples_per_insert, "
        "error_buffer, n_step, prioritised, priority_exponent, importance_exponent, prefetch, stack_agents, block_size",
    ),
    (["learning_rate=fast"], ConfigError, "config key 'learning_rate': expected float, got 'fast'"),
    (["dataset.batch_size=1.5"], ConfigError, "config key 'dataset.batch_size': expected int, got '1.5'"),
    ({"dataset.batch_size": True}, ConfigError, "config key 'dataset.batch_size': expected int, got True"),
    (["double_q=maybe"], ConfigError, "config key 'double_q': expected bool (true/false), got 'maybe'"),
    ({"double_q": 1}, ConfigError, "config key 'double_q': expected bool (true/false), got 1"),
    (["network.hidden_sizes=32,x"], ConfigError, "config key 'network.hidden_sizes': expected int, got 'x'"),
    (["max_gradient_norm=big"], ConfigError, "config key 'max_gradient_norm': expected float or None, got 'big'"),
    (
        ["network.activation=sigmoid"],
        ConfigError,
        "config key 'network.activation': must be one of relu, tanh, elu, gelu, got 'sigmoid'",
    ),
    (
        ["learning_rate.step=1"],
        ConfigError,
        "config key 'learning_rate': is a setting of type float, not a section with sub-keys",
    ),
    # out of range
    (["discount=2"], ConfigError, "config key 'discount': must be <= 1.0, got 2.0"),
    (["learning_rate=-0.1"], ConfigError, "config key 'learning_rate': must be >= 0.0, got -0.1"),
    (["exploration.start=1.5"], ConfigError, "config key 'exploration.start': must be <= 1.0, got 1.5"),
    (["dataset.n_step=0"], ConfigError, "config key 'dataset.n_step': must be >= 1, got 0"),
    (["run.executors=0"], ConfigError, "config key 'run.executors': must be >= 1, got 0"),
    (["run.seed=-1"], ConfigError, "config key 'run.seed': must be >= 0, got -1"),
    # malformed
    (
        ["learning_rate"],
        ConfigError,
        "config key 'learning_rate': overrides are written key=value (e.g. learning_rate=0.0005)",
    ),
    (["=3"], ConfigError, "config key '=3': overrides are written key=value (e.g. learning_rate=0.0005)"),
    # components
    (
        ["exploration=boltzmann"],
        UnknownNameError,
        f"unknown exploration 'boltzmann'; available: {names('exploration')}",
    ),
    (["dataset=episodes"], UnknownNameError, f"unknown dataset 'episodes'; available: {names('dataset')}"),
    (
        ["exploration=exponential_epsilon", "exploration.decay_steps=100"],
        ConfigError,
        "config key 'exploration.decay_steps': unknown key; valid keys here are: start, end, half_life",
    ),
    (
        ["exploration.half_life=100"],
        ConfigError,  # not an option of the default linear_epsilon
        "config key 'exploration.half_life': unknown key; valid keys here are: start, end, decay_steps",
    ),
    # run. prefix
    (["run.bogus=1"], ConfigError, f"config key 'run.bogus': unknown key; valid keys here are: {RUN_KEYS}"),
    (["run.env_steps=many"], ConfigError, "config key 'run.env_steps': expected int, got 'many'"),
    (
        ["run.check_environment=perhaps"],
        ConfigError,
        "config key 'run.check_environment': expected bool (true/false), got 'perhaps'",
    ),
    (["run.env_options=x"], ConfigError, "config key 'run.env_options': expected a mapping, got 'x'"),
    (["run.backend=slurm"], UnknownNameError, f"unknown backend 'slurm'; available: {names('backend')}"),
    (
        ["run.loggers=csv,carrier_pigeon"],
        UnknownNameError,
        f"unknown logger 'carrier_pigeon'; available: {names('logger')}",
    ),
    (
        ["run.env_wrappers=frame_stack"],
        UnknownNameError,
        f"unknown env_wrapper 'frame_stack'; available: {names('env_wrapper')}",
    ),
    (
        ["run.environment=debug_two_step"],
        ConfigError,
        "config key 'environment': environments are named family:task (e.g. pettingzoo:simple_spread_v3), "
        "got 'debug_two_step'",
    ),
    (
        ["run.environment=atari:pong"],
        UnknownNameError,
        f"unknown environment 'atari'; available: {names('environment')}",
    ),
]


@pytest.mark.parametrize("overrides, error, message", BAD_INPUTS, ids=[repr(case[0]) for case in BAD_INPUTS])
def test_bad_override_is_refused_with_a_specific_message(pm, overrides, error, message):
    with pytest.raises(error) as caught:
        build(pm, overrides)
    assert str(caught.value) == message
    assert isinstance(caught.value, MavaError)
    if isinstance(caught.value, ConfigError):
        assert message.startswith(f"config key {caught.value.key!r}: ")


ENV_OPTION_ERRORS = [
    (
        "debug:two_step",
        ["env.size=4"],
        "config key 'env.size': unknown option for debug:two_step; valid options: (none)",
    ),
    ("debug:simple_spread", ["env.num_agents=0"], "config key 'env.num_agents': must be a positive integer, got 0"),
    (
        "debug:simple_spread",
        ["env.max_steps=lots"],
        "config key 'env.max_steps': must be a positive integer, got 'lots'",
    ),
    (
        "debug:simple_spread",
        ["env.landmarks=3"],
        "config key 'env.landmarks': unknown option for debug:simple_spread; "
        "valid options: num_agents, max_steps, continuous, render_mode",
    ),
    ("debug:nope", [], "unknown debug task 'nope'; available: simple_spread, switch_riddle, two_step"),
]


@pytest.mark.parametrize("environment, overrides, message", ENV_OPTION_ERRORS)
def test_env_options_are_checked_by_the_environment_family(pm, environment, overrides, message):
    builder = build(pm, overrides, environment=environment)  # env. options are free-form until the env is made
    with pytest.raises(MavaError) as caught:
        builder.env_spec
    assert str(caught.value) == message


def test_min_size_above_max_size_is_refused_before_anything_is_written(pm, tmp_path):
    with pytest.raises(ConfigError) as caught:
        build(pm, ["dataset.min_size=10", "dataset.max_size=5"], tmp_dir=str(tmp_path / "run"))
    assert str(caught.value) == "config key 'dataset.min_size': must be <= dataset.max_size (5), got 10"
    assert not (tmp_path / "run").exists()
    build(pm, ["dataset.min_size=5", "dataset.max_size=5"]).make_replay_tables()  # equal is fine


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_refused(pm, value):
    with pytest.raises(ConfigError) as caught:
        build(pm, [f"learning_rate={value}"])
    assert str(caught.value) == f"config key 'learning_rate': must be a finite number, got {value}"


def test_validate_catches_values_set_behind_the_overrides():
    run = RunConfig(executors=0)
    with pytest.raises(ConfigError, match=r"^config key 'run\.executors': must be >= 1, got 0$"):
        cfg.validate(run, "run.")
    run = RunConfig(env_steps="100")  # a string where an int belongs
    with pytest.raises(ConfigError, match=r"^config key 'env_steps': expected int, got '100'$"):
        cfg.validate(run)
    run = RunConfig(loggers=["csv"])  # a list for a tuple field is accepted as the same value
    cfg.validate(run)


# -------------------------------------------------------------------------- good inputs
def test_overrides_coerce_to_the_annotated_types(pm):
    builder = build(
        pm,
        [
            "run.env_steps=1_000",
            "run.eval_every=2e3",
            "run.seed=7",
            "run.log_every_seconds=1",
            "run.check_environment=no",
            "run.loggers=csv",
            "learning_rate=1e-3",
            "discount=1",
            "target_update_period=50",
            "double_q=false",
            "max_gradient_norm=none",
            "network.hidden_sizes=32,32",
            "network.layer_norm=yes",
            "dataset.max_size=20_000",
            "dataset.options.min_size=100",  # "options." may be spelled out
            "dataset.prioritised=on",
            "env.num_agents=2",
            "env.label=hello",
            "env.continuous=true",
        ],
    )
    run, system = builder.run, builder.system_config
    assert (run.env_steps, run.eval_every, run.seed) == (1000, 2000, 7)
    assert all(type(v) is int for v in (run.env_steps, run.eval_every, run.seed))
    assert run.log_every_seconds == 1.0 and type(run.log_every_seconds) is float
    assert run.check_environment is False and run.loggers == ("csv",)
    assert system.learning_rate == 0.001 and type(system.discount) is float and system.discount == 1.0
    assert system.target_update_period == 50 and system.double_q is False
    assert system.max_gradient_norm is None
    assert system.network.options.hidden_sizes == (32, 32) and system.network.options.layer_norm is True
    dataset = system.dataset.options
    assert (dataset.max_size, dataset.min_size, dataset.prioritised) == (20_000, 100, True)
    assert run.env_options == {"num_agents": 2, "label": "hello", "continuous": True}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("32,32", (32, 32)),
        ("(16, 8)", (16, 8)),
        ("128", (128,)),
        ("64,", (64,)),
    ],
)
def test_tuple_overrides(pm, text, expected):
    assert build(pm, [f"network.hidden_sizes={text}"]).system_config.network.options.hidden_sizes == expected


@pytest.mark.parametrize("text", ["none", "None", "null", ""])
def test_optional_accepts_none(pm, text):
    assert build(pm, [f"max_gradient_norm={text}"]).system_config.max_gradient_norm is None
    assert build(pm, ["max_gradient_norm=2.5"]).system_config.max_gradient_norm == 2.5


def test_dict_overrides_take_native_values(pm):
    builder = build(pm, {"learning_rate": 1, "network.hidden_sizes": [8, 4], "run.env_steps": 500.0, "double_q": False})
    system = builder.system_config
    assert system.learning_rate == 1.0 and type(system.learning_rate) is float
    assert system.network.options.hidden_sizes == (8, 4)
    assert builder.run.env_steps == 500 and type(builder.run.env_steps) is int
    assert system.double_q is False


def test_swapping_a_component_resets_its_options_and_builds_the_new_one(pm):
    builder = build(pm, ["exploration.decay_steps=5", "exploration=exponential_epsilon", "exploration.half_life=100"])
    slot = builder.system_config.exploration
    assert isinstance(slot, Component) and (slot.kind, slot.name) == ("exploration", "exponential_epsilon")
    assert slot.options == ExponentialEpsilon.Config(half_life=100)
    schedule = builder.system.components.exploration  # built from the registry with these options
    assert isinstance(schedule, ExponentialEpsilon)
    assert schedule.value(100) == pytest.approx(0.05 + 0.95 * 0.5)
    # ".name" is the same as the bare slot; swapping back gives the defaults again
    builder = build(pm, ["exploration.name=exponential_epsilon", "exploration=linear_epsilon"])
    assert builder.system_config.exploration.options == LinearEpsilon.Config()
    # a component without options: constant_epsilon has one, value
    builder = build(pm, ["exploration=constant_epsilon", "exploration.value=0.2"])
    assert builder.system.components.exploration.value(10_000) == 0.2


def test_overrides_apply_in_order(pm):
    assert build(pm, ["learning_rate=0.1", "learning_rate=0.2"]).system_config.learning_rate == 0.2
    builder = build(pm, ["dataset.min_size=7", "dataset=transition_replay"])
    assert builder.system_config.dataset.options.min_size == 1_000  # the swap reset it


def test_env_prefix_fills_env_options_and_reaches_the_environment(pm):
    builder = build(pm, ["env.num_agents=2", "env.max_steps=5"], environment="debug:simple_spread")
    assert builder.run.env_options == {"num_agents": 2, "max_steps": 5}
    assert builder.env_spec.agent_ids == ["agent_0", "agent_1"]


def test_config_json_round_trips_the_overrides(pm, tmp_path):
    import json

    builder = build(
        pm,
        ["network.hidden_sizes=16,16", "exploration=exponential_epsilon", "max_gradient_norm=none"],
        tmp_dir=str(tmp_path),
    )
    with open(builder.save_config()) as handle:
        saved = json.load(handle)
    assert saved["system"]["network"] == {
        "kind": "network",
        "name": "mlp",
        "options": {"hidden_sizes": [16, 16], "activation": "relu", "layer_norm": False},
    }
    assert saved["system"]["exploration"]["options"] == {"start": 1.0, "end": 0.05, "half_life": 5000}
    assert saved["system"]["max_gradient_norm"] is None
    assert saved["run"]["environment"] == "debug:two_step" and saved["run"]["run_dir"] == str(tmp_path)


# ------------------------------------------------------------------------------ describe
def _leaf_keys(config, prefix=""):
    keys = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        keys.append(prefix + field.name)
        if isinstance(value, Component) and value.options is not None:
            keys.extend(_leaf_keys(value.options, f"{prefix}{field.name}."))
    return keys


def test_describe_lists_every_key_and_each_can_be_set_to_its_shown_value(pm):
    builder = build(pm, ["exploration=exponential_epsilon"])
    rows = cfg.describe(builder.system_config)
    keys = [row[0] for row in rows]
    assert keys == _leaf_keys(builder.system_config)
    assert {
        "architecture.shared_weights",
        "network.hidden_sizes",
        "exploration.half_life",
        "dataset.min_size",
        "learning_rate",
        "max_gradient_norm",
    } <= set(keys)
    assert "exploration.decay_steps" not in keys
    by_key = {key: (type_name, value, help_text) for key, type_name, value, help_text in rows}
    assert by_key["exploration"] == ("exploration component", "exponential_epsilon", "any registered exploration")
    assert by_key["network.hidden_sizes"][:2] == ("comma-separated list of int", (64, 64))
    assert by_key["max_gradient_norm"][0] == "float or None"
    assert by_key["dataset.min_size"][2] == "transitions before training starts"

    run_rows = cfg.describe(builder.run, "run.")
    assert [row[0] for row in run_rows] == [f"run.{key}" for key in RUN_KEYS.split(", ")]

    # every listed key is settable, to the value listed, without changing the config
    before = cfg.to_dict(builder.system_config)
    settable = {key: value for key, type_name, value, _ in rows if not type_name.endswith(" component")}
    again = build(pm, {"exploration": "exponential_epsilon", **settable})
    assert cfg.to_dict(again.system_config) == before
    run_settable = {key: value for key, _, value, _ in run_rows if key != "run.env_options"}
    assert cfg.to_dict(build(pm, run_settable).run) == cfg.to_dict(builder.run)


def test_describe_shows_help_and_types_for_run_settings(pm):
    rows = {key: (type_name, help_text) for key, type_name, _, help_text in cfg.describe(RunConfig(), "run.")}
    assert rows["run.env_steps"] == ("int", "budget of environment steps, summed over executors")
    assert rows["run.loggers"][0] == "comma-separated list of str"
    assert rows["run.run_dir"][0] == "str or None"
    assert rows["run.env_options"][0] == "mapping"
    assert re.search(r"env_wrapper", rows["run.env_wrappers"][1])


# ------------------------------------------------------------------ plugin-declared run options
class _LatencyPlugin:
    """A plugin declaring run.latency_ms and run.tags, as a third party would."""

    @hookimpl
    def mava_add_run_options(self, options):
        options.add("latency_ms", int, 5, minimum=0, maximum=1000, help="simulated network latency")
        options.add("tags", tuple, (), help="free labels")


def _pm_with_latency() -> PluginManager:
    pm = PluginManager()
    pm.register(_LatencyPlugin(), name="latency")
    return pm


def test_plugin_run_options_behave_like_the_cores():
    pm = _pm_with_latency()
    assert pm.run_options["latency_ms"].plugin == "latency"
    builder = build(pm, ["run.latency_ms=250"])
    assert builder.run.latency_ms == 250 and builder.run.device == "auto"  # set, and a default filled in
    assert cfg.to_dict(builder.run)["latency_ms"] == 250  # saved in config.json
    rows = {
        key: (type_name, value, help_text) for key, type_name, value, help_text in cfg.describe(builder.run, "run.")
    }
    assert rows["run.latency_ms"] == ("int", 250, "simulated network latency")
    with pytest.raises(ConfigError, match=r"^config key 'run.latency_ms': must be <= 1000, got 5000$"):
        build(pm, ["run.latency_ms=5000"])
    with pytest.raises(ConfigError, match=r"^config key 'run.latency_ms': expected int, got 'soon'$"):
        build(pm, ["run.latency_ms=soon"])
    # given to the RunConfig itself, checked when a builder takes it
    run = RunConfig(system="madqn", environment="debug:two_step", latency_ms=7, run_dir="unused")
    assert SystemBuilder(run, plugin_manager=pm).run.latency_ms == 7
    with pytest.raises(ConfigError, match=r"^config key 'run.latency_ms': unknown key; valid keys here are: system, "):
        SystemBuilder(
            RunConfig(system="madqn", environment="debug:two_step", latency_ms=7), plugin_manager=PluginManager()
        )


def test_a_run_config_pickles_with_its_plugin_options():
    import pickle

    builder = build(_pm_with_latency(), ["run.latency_ms=9", "run.checkpoint=false"])
    again = pickle.loads(pickle.dumps(builder.run))
    assert (again.latency_ms, again.checkpoint, again.system) == (9, False, "madqn")
    assert cfg.to_dict(again) == cfg.to_dict(builder.run)


def test_a_run_option_the_core_or_another_plugin_has_is_refused():
    from mava_core.errors import PluginError

    class Twice:
        @hookimpl
        def mava_add_run_options(self, options):
            options.add("device", str, "tpu")

    class Core:
        @hookimpl
        def mava_add_run_options(self, options):
            options.add("seed", int, 1)

    pm = PluginManager()
    with pytest.raises(PluginError, match=r"^run option 'device' is declared by two plugins: 'placement' and 'twice'$"):
        pm.register(Twice(), name="twice")
    with pytest.raises(PluginError, match=r"^plugin 'core' declares run option 'seed', which is not a free run key$"):
        pm.register(Core(), name="core")
    assert "twice" not in pm.plugins and pm.run_options["device"].plugin == "placement"


def test_a_blocked_plugins_run_options_do_not_exist():
    pm = PluginManager(blocked=["recording"])
    assert "record_eval" not in pm.run_options and "device" in pm.run_options
    with pytest.raises(ConfigError, match=r"^config key 'run.record_eval': unknown key; valid keys here are: "):
        build(pm, ["run.record_eval=true"])
