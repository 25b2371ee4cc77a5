"""The ``placement`` plugin (``run.device``): the plan, per-node visibility, and the GPU path on a CPU.

No GPU is needed: the machine's GPUs are faked where a plan with a GPU is checked, and the
trainer's GPU code path runs on the CPU through TensorFlow's soft placement.
"""
from __future__ import annotations

import json
import os

import pytest
from helpers import local_run

from mava_core.config import RunConfig
from mava_core.errors import ConfigError
from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder
from mava_plugins.backends.launchpad_backend import LaunchpadBackend
from mava_plugins.placement import devices, plugin
from mava_plugins.placement.devices import MEMORY_GROWTH, VISIBLE_DEVICES, machine_gpus, plan_placement

SMALL = {"dataset.min_size": 30, "dataset.batch_size": 16, "network.hidden_sizes": "16"}


# ------------------------------------------------------------------------------ the plan
@pytest.mark.parametrize(
    "visible, expected",
    [("0,1", ["0", "1"]), ("", []), ("-1", []), ("1,-1,2", ["1"]), (" 2 , 3", ["2", "3"])],
)
def test_cuda_visible_devices_decides_which_gpus_a_child_may_get(visible, expected):
    assert machine_gpus({VISIBLE_DEVICES: visible}, driver_dir="/nonexistent") == expected


def test_without_cuda_visible_devices_the_drivers_gpus_count(tmp_path):
    for name in ("0000:01:00.0", "0000:02:00.0"):
        (tmp_path / name).mkdir()
    assert machine_gpus({}, driver_dir=str(tmp_path)) == ["0", "1"]
    assert machine_gpus({}, driver_dir=str(tmp_path / "missing")) == []


def test_plan_puts_only_the_trainer_on_the_gpu_and_lets_its_memory_grow():
    plan = plan_placement("auto", ["0", "1"])
    assert plan.trainer == "gpu"
    assert plan.trainer_env() == {VISIBLE_DEVICES: "0,1", MEMORY_GROWTH: "true"}
    assert plan.other_env() == {VISIBLE_DEVICES: ""}
    assert plan_placement("cpu", ["0"]).trainer_env() == {VISIBLE_DEVICES: ""}
    assert plan_placement("auto", []).trainer == "cpu"


def test_gpu_without_a_gpu_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"run\.device.*no GPU.*run\.device=auto"):
        plan_placement("gpu", [])


# ------------------------------------------------------------------- per-node visibility
def _builder(tmp_path, backend, device, **run):
    config = RunConfig(
        system="madqn", environment="debug:simple_spread", backend=backend, executors=2, env_steps=200, seed=0,
        eval_every=200, eval_episodes=1, random_baseline_episodes=0, loggers=("csv",), run_dir=str(tmp_path),
        device=device, **run,
    )
    return SystemBuilder(config, overrides=SMALL, plugin_manager=PluginManager())


def test_launchpad_gives_the_trainer_process_the_gpus_and_every_other_process_none(tmp_path, monkeypatch):
    monkeypatch.setattr(plugin, "machine_gpus", lambda: ["0", "1"])
    builder = _builder(tmp_path, "launchpad", "auto")
    _, resources = LaunchpadBackend().build(builder.build_program(), builder)
    assert resources["trainer"].env[VISIBLE_DEVICES] == "0,1"
    assert resources["trainer"].env[MEMORY_GROWTH] == "true"
    for group in ("replay", "counter", "executor", "evaluator"):
        assert resources[group].env[VISIBLE_DEVICES] == "", group
        assert MEMORY_GROWTH not in resources[group].env, group
    plan = json.loads((tmp_path / devices.PLAN_FILE).read_text())
    assert (plan["trainer"], plan["gpus"], plan["backend"]) == ("gpu", ["0", "1"], "launchpad")
    assert plan["nodes"]["executor_1"] == {VISIBLE_DEVICES: ""}


def test_launchpad_with_run_device_cpu_hides_the_gpus_from_the_trainer_too(tmp_path, monkeypatch):
    monkeypatch.setattr(plugin, "machine_gpus", lambda: ["0"])
    builder = _builder(tmp_path, "launchpad", "cpu")
    _, resources = LaunchpadBackend().build(builder.build_program(), builder)
    assert resources["trainer"].env[VISIBLE_DEVICES] == ""


def test_ray_trainer_asks_ray_for_a_gpu_or_for_none(tmp_path):
    for device, expected in (("gpu", 1.0), ("cpu", 0.0)):
        builder = _builder(tmp_path / device, "ray", device)
        program = builder.build_program()
        trainer = program.one("trainer")
        assert trainer.resources["ray"]["num_gpus"] == expected
        assert trainer.resources["env"][MEMORY_GROWTH] == "true"
    auto = _builder(tmp_path / "auto", "ray", "auto").build_program().one("trainer")
    assert "ray" not in auto.resources  # the Ray backend's own default: a GPU when the cluster has one


class _SchedulerBackend:
    """A third-party backend whose own scheduler assigns GPUs (the ``schedules_gpus`` trait), like Ray."""

    name = "slurm"
    interleaves_nodes = False
    schedules_gpus = True
    try:  # the traits object of the run context, where the core declares backends' traits that way
        from mava_core.run_context import BackendTraits

        traits = BackendTraits(name="slurm", interleaves_nodes=False, schedules_gpus=True)
    except ImportError:
        pass


class _SchedulerPlugin:
    @hookimpl
    def mava_register(self, registry):
        registry.add("backend", "slurm", _SchedulerBackend)


def test_a_backend_that_schedules_gpus_gets_the_request_under_its_own_name(tmp_path):
    pm = PluginManager()
    pm.register(_SchedulerPlugin(), name="slurm_backend")
    config = RunConfig(
        system="madqn", environment="debug:simple_spread", backend="slurm", executors=1, env_steps=200,
        random_baseline_episodes=0, loggers=("csv",), run_dir=str(tmp_path), device="gpu",
    )
    trainer = SystemBuilder(config, overrides=SMALL, plugin_manager=pm).build_program().one("trainer")
    assert trainer.resources["slurm"] == {"num_gpus": 1.0} and "ray" not in trainer.resources
    assert json.loads((tmp_path / devices.PLAN_FILE).read_text())["trainer_requests"] == {"trainer": {"num_gpus": 1.0}}


@pytest.mark.parametrize("backend", ["local", "launchpad"])
def test_run_device_gpu_on_a_machine_without_one_stops_before_any_process_starts(tmp_path, monkeypatch, backend):
    monkeypatch.setattr(plugin, "machine_gpus", lambda: [])
    builder = _builder(tmp_path, backend, "gpu")
    with pytest.raises(ConfigError, match=r"run\.device"):
        builder.launch()
    assert not (tmp_path / "summary.json").exists() and not (tmp_path / "checkpoints").exists()


# --------------------------------------------------------------- the trainer's device
def test_trainer_reports_what_tensorflow_sees_and_trains_on_the_cpu_without_a_gpu(tmp_path):
    summary, builder = local_run(tmp_path, "madqn", "debug:simple_spread", env_steps=300, overrides=SMALL,
                                 eval_episodes=1, random_baseline_episodes=0)
    assert summary["trainer_steps"] > 0
    report = json.loads((tmp_path / devices.TRAINER_REPORT_FILE).read_text())
    assert report["requested"] == "auto"
    if report["visible_gpus"]:  # a machine with a usable GPU
        assert report["device"] == "/GPU:0" and report["memory_growth"]
    else:
        assert report["device"] == "/CPU:0" and not report["memory_growth"]


def test_run_device_gpu_refused_in_the_trainer_when_tensorflow_sees_none(tmp_path, monkeypatch):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU TensorFlow can use")
    monkeypatch.setitem(os.environ, VISIBLE_DEVICES, "0")
    with pytest.raises(ConfigError, match=r"run\.device.*TensorFlow sees no GPU.*CUDA 11\.2"):
        devices.trainer_device("gpu", str(tmp_path))


class ForceGpu:
    """Places the trainer on /GPU:0 whatever the machine has (as the plugin does where there is one)."""

    def __init__(self):
        self.trainers = []
        self.steps = 0

    @hookimpl(tryfirst=True)
    def mava_trainer_device(self, builder):
        return "/GPU:0"

    @hookimpl
    def mava_trainer_init(self, trainer):
        self.trainers.append(trainer)

    @hookimpl
    def mava_trainer_step_end(self, trainer, step, metrics):
        self.steps = step


def test_the_gpu_code_path_trains_on_a_cpu_through_soft_placement(tmp_path):
    import tensorflow as tf

    force = ForceGpu()
    manager = PluginManager()
    manager.register(force, name="force_gpu")
    run = RunConfig(system="madqn", environment="debug:simple_spread", env_steps=300, seed=0, eval_every=300,
                    eval_episodes=1, random_baseline_episodes=0, loggers=("csv",), run_dir=str(tmp_path))
    summary = SystemBuilder(run, overrides=SMALL, plugin_manager=manager).launch()
    assert summary["trainer_steps"] > 0 and force.steps == summary["trainer_steps"]
    [trainer] = force.trainers
    assert trainer.device == "/GPU:0"
    # without a GPU TensorFlow falls back to the CPU for the variables made under the GPU scope
    where = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
    assert trainer.step_counter.device.endswith(where)
    assert all(variable.device.endswith(where) for variable in trainer.state_variables())
    assert not os.path.exists(tmp_path / devices.TRAINER_REPORT_FILE)  # first result: the plugin was not asked
