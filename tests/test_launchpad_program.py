"""How the Launchpad backend builds its program: which processes, and what the launcher imports."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import cloudpickle
import pytest

from mava_core.config import RunConfig
from mava_core.errors import ConfigError
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder

#: run in a fresh interpreter, as the launcher process is: build the program from a payload,
#: report which node groups it has and whether Reverb or TensorFlow got imported
BUILD = textwrap.dedent(
    """
    import json, sys
    import cloudpickle
    from mava_plugins.backends.launchpad_backend import LaunchpadBackend
    with open(sys.argv[1], "rb") as handle:
        program, builder = cloudpickle.load(handle)
    lp_program, resources = LaunchpadBackend().build(program, builder)
    print(json.dumps({
        "groups": list(lp_program.groups),
        "imported": sorted(m for m in ("reverb", "tensorflow", "sonnet") if m in sys.modules),
        "env": resources["trainer"].env["TF2_BEHAVIOR"],
    }))
    """
)


def _builder(tmp_path, backend="launchpad", **backend_options) -> SystemBuilder:
    run = RunConfig(system="madqn", environment="debug:simple_spread", backend=backend, executors=2, env_steps=100,
                    run_dir=str(tmp_path), checkpoint=False, backend_options=backend_options)
    return SystemBuilder(run, plugin_manager=PluginManager())


@pytest.mark.parametrize("in_trainer", [False, True])
def test_the_launcher_builds_the_program_without_reverb_or_tensorflow(in_trainer, tmp_path):
    builder = _builder(tmp_path, replay_in_trainer=in_trainer)
    payload = tmp_path / "program.pkl"
    with open(payload, "wb") as handle:
        cloudpickle.dump((builder.build_program(), builder), handle)
    result = subprocess.run([sys.executable, "-c", BUILD, str(payload)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    built = json.loads(result.stdout.strip().splitlines()[-1])
    assert built["imported"] == []  # two seconds of a core before any node starts, when it did
    assert built["env"] == "1"  # every node starts with TensorFlow 2 behaviour (see TF2_FROM_START)
    others = ["counter", "trainer", "executor", "evaluator", "coordinator"]
    assert built["groups"] == (others if in_trainer else ["replay", *others])


def test_replay_in_the_trainer_hands_executors_the_trainer_s_replay_address(tmp_path):
    from launchpad.nodes.python import addressing

    from mava_plugins.backends.launchpad_backend import LaunchpadBackend
    from mava_plugins.backends.launchpad_replay import ReplayAddressHandle, TrainerWithReplayNode

    builder = _builder(tmp_path, replay_in_trainer=True)
    lp_program, _ = LaunchpadBackend().build(builder.build_program(), builder)
    (trainer,) = lp_program.groups["trainer"]
    assert isinstance(trainer, TrainerWithReplayNode)
    addressing.bind_addresses_local(trainer.addresses)
    replay_address = trainer._kwargs["replay_address"].resolve()
    assert replay_address.startswith("localhost:") and replay_address != trainer.courier_address.resolve()
    for executor in lp_program.groups["executor"]:
        (handle,) = [h for h in executor.input_handles if isinstance(h, ReplayAddressHandle)]
        assert handle.dereference() == replay_address


@pytest.mark.parametrize(
    "backend, options, key, problem",
    [
        ("launchpad", {"replay_in_trainer": "sometimes"}, "run.backend_options.replay_in_trainer", "bool"),
        ("launchpad", {"replay_in_trainr": True}, "run.backend_options.replay_in_trainr", "replay_in_trainer"),
        ("local", {"replay_in_trainer": True}, "run.backend_options.replay_in_trainer", "takes no options"),
    ],
)
def test_a_bad_replay_in_trainer_setting_names_its_key(backend, options, key, problem, tmp_path):
    with pytest.raises(ConfigError) as raised:
        _builder(tmp_path, backend=backend, **options)
    assert key in str(raised.value) and problem in str(raised.value)


def test_a_script_s_backend_options_stay_with_its_backend(tmp_path, monkeypatch):
    """``--backend`` naming another backend drops the options the script set for its own."""
    from mava_core import cli
    from mava_core.system import SystemBuilder as Builder

    launched = []
    monkeypatch.setattr(Builder, "launch", lambda self: launched.append(dict(self.run.backend_options)) or {})
    monkeypatch.setattr(cli, "print_summary", lambda *args: None)
    for argv, expected in ((["--backend", "local"], {}), ([], {"replay_in_trainer": True})):
        run = RunConfig(system="madqn", environment="debug:simple_spread", backend="launchpad",
                        backend_options={"replay_in_trainer": True}, run_dir=str(tmp_path))
        assert cli.run_script(run, argv=argv) == 0
        assert launched[-1] == expected
