"""Recording episodes as GIF/MP4: the record_episode API, its errors, and run.record_eval in a run."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from helpers import hooks_outside_a_run

from mava_core.config import RunConfig
from mava_core.environment_loop import EnvironmentLoop
from mava_core.errors import ConfigError, MissingDependencyError
from mava_core.executor import Executor
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder
from mava_plugins.envs.debugging import DebugFamily
from mava_plugins.recording.recorder import EpisodeRecorder, record_episode
from mava_plugins.recording.video import RecordingError, as_rgb_frame, write_video

PM = PluginManager()


class RandomPolicy:
    """Uniform random actions from a seeded generator (the executor's policy interface)."""

    def __init__(self, spec, seed=0):
        self._spec = spec
        self._rng = np.random.default_rng(seed)

    def reset(self):
        pass

    def select_actions(self, observations):
        return {agent: np.int32(self._rng.integers(self._spec.agents[agent].num_actions)) for agent in observations}


def _loop(plugin_manager=PM, seed=0, **options):
    env = DebugFamily.make("simple_spread", seed=seed, **options)
    hooks = hooks_outside_a_run(plugin_manager)
    executor = Executor(RandomPolicy(env.multi_agent_spec(), seed), hooks)
    return EnvironmentLoop(env, executor, hooks, label="evaluator", should_update=False)


def _gif_frames(path):
    from PIL import Image

    image = Image.open(path)
    frames, durations = [], []
    for index in range(image.n_frames):
        image.seek(index)
        frames.append(np.asarray(image.convert("RGB")))
        durations.append(image.info["duration"])
    return frames, durations


def test_record_episode_writes_the_episode_as_a_gif(tmp_path):
    path = tmp_path / "nested" / "episode.gif"
    result = record_episode(_loop(render_mode="rgb_array", max_steps=6), str(path), fps=20)
    assert result["video"] == str(path) and result["episode_length"] == 6
    frames, durations = _gif_frames(path)
    # the reset frame and one per step (Pillow merges identical consecutive frames, adding their time)
    assert sum(durations) == 7 * 50 and 2 <= len(frames) <= 7
    reference = DebugFamily.make("simple_spread", seed=0, render_mode="rgb_array", max_steps=6)
    reference.reset()
    np.testing.assert_array_equal(frames[0], reference.render())  # few colours: the GIF is lossless here


def test_record_episode_writes_an_mp4(tmp_path):
    import imageio.v2 as imageio

    path = tmp_path / "episode.mp4"
    record_episode(_loop(render_mode="rgb_array", max_steps=9), str(path), fps=5)
    reader = imageio.get_reader(str(path))
    assert reader.count_frames() == 10 and reader.get_meta_data()["size"] == (256, 256)
    assert reader.get_meta_data()["fps"] == 5


def test_only_the_armed_episode_is_recorded(tmp_path):
    loop = _loop(render_mode="rgb_array", max_steps=3)
    recorder = EpisodeRecorder(loop, fps=10)
    loop.run_episode()  # not armed: nothing captured
    recorder.record_next(str(tmp_path / "second.gif"))
    second = loop.run_episode()
    third = loop.run_episode()
    assert recorder.saved == [str(tmp_path / "second.gif")] and second["video"] == recorder.saved[0]
    assert "video" not in third and sorted(p.name for p in tmp_path.iterdir()) == ["second.gif"]


def test_mp4_without_imageio_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio", None)  # import imageio fails as if not installed
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    loop = _loop(render_mode="rgb_array")
    with pytest.raises(MissingDependencyError, match=r"pip install 'mava\[record\]'") as info:
        record_episode(loop, str(tmp_path / "episode.mp4"))
    assert "MP4" in str(info.value) and loop.episodes == 0  # refused before playing
    record_episode(loop, str(tmp_path / "episode.gif"))  # GIFs need only Pillow


def test_errors_are_one_line(tmp_path):
    with pytest.raises(RecordingError, match=r"must end in \.gif or \.mp4"):
        record_episode(_loop(render_mode="rgb_array"), str(tmp_path / "episode.avi"))
    with pytest.raises(ConfigError, match="pass env.render_mode=rgb_array") as info:
        record_episode(_loop(), str(tmp_path / "episode.gif"))
    assert info.value.key == "env.render_mode"
    without_plugins = PluginManager(load_entry_points=False)
    with pytest.raises(RecordingError, match="'recording' plugin is not registered"):
        record_episode(_loop(without_plugins, render_mode="rgb_array"), str(tmp_path / "episode.gif"))
    with pytest.raises(RecordingError, match=r"returned an array of shape \(4, 4\), not an RGB frame"):
        as_rgb_frame(np.zeros((4, 4), np.uint8), "env")
    with pytest.raises(RecordingError, match="dtype float64"):
        as_rgb_frame(np.zeros((4, 4, 3)), "env")
    with pytest.raises(RecordingError, match="differ in size"):
        write_video([np.zeros((4, 4, 3), np.uint8), np.zeros((6, 4, 3), np.uint8)], str(tmp_path / "x.gif"))


def test_odd_sized_frames_make_an_mp4(tmp_path):
    import imageio.v2 as imageio

    frames = [np.full((33, 47, 3), value, np.uint8) for value in (0, 120, 250)]
    rgba = np.concatenate([frames[0], np.full((33, 47, 1), 255, np.uint8)], axis=-1)
    assert as_rgb_frame(rgba, "rgba").shape == (33, 47, 3)  # alpha is dropped
    write_video(frames, str(tmp_path / "odd.mp4"), fps=2)
    reader = imageio.get_reader(str(tmp_path / "odd.mp4"))
    assert reader.count_frames() == 3 and reader.get_data(0).shape == (34, 48, 3)  # padded to even sizes
    assert abs(float(reader.get_data(2).mean()) - 250) < 8


# ---------------------------------------------------------------------------- run.record_eval
def _run(tmp_path, environment, **settings):
    run = RunConfig(
        system="madqn", environment=environment, env_steps=60, eval_every=30, eval_episodes=2,
        random_baseline_episodes=1, loggers=("csv",), run_dir=str(tmp_path / "run"), checkpoint=False,
    )
    overrides = {"dataset.min_size": 20, "dataset.batch_size": 8, "network.hidden_sizes": (8,), **settings}
    return SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager())


def test_record_eval_saves_every_evaluation(tmp_path):
    builder = _run(tmp_path, "debug:simple_spread", **{"run.record_eval": True, "env.max_steps": 5})
    summary = builder.launch()
    videos = tmp_path / "run" / "videos"
    names = sorted(p.name for p in videos.iterdir())
    assert names == [f"evaluation_{steps:08d}.gif" for steps in (0, 30, 60)]
    _, durations = _gif_frames(videos / names[-1])
    assert sum(durations) == 6 * 100  # one episode of 5 steps at run.record_fps=10
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["run"]["eval_env_options"] == {"render_mode": "rgb_array"}
    assert "render_mode" not in config["run"]["env_options"]
    assert len(summary["evaluations"]) == 3


def test_record_eval_refuses_an_environment_that_cannot_render(tmp_path):
    builder = _run(tmp_path, "debug:two_step", **{"run.record_eval": True})
    with pytest.raises(ConfigError, match="debug:two_step cannot render RGB frames") as info:
        builder.launch()
    assert info.value.key == "run.record_eval" and "docs/environments/recording.md" in str(info.value)
    assert not (tmp_path / "run").exists()  # refused before anything started


def test_record_settings_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="must be one of gif, mp4") as info:
        _run(tmp_path, "debug:simple_spread", **{"run.record_format": "avi"})
    assert info.value.key == "run.record_format"
    with pytest.raises(ConfigError) as info:
        _run(tmp_path, "debug:simple_spread", **{"run.record_fps": 0})
    assert info.value.key == "run.record_fps"


# ------------------------------------------------- the evaluator contract, not the evaluator class
class _OwnEvaluator:
    """A plugin's own evaluator worker: it keeps the contract (a ``loop`` and ``evaluate(env_steps)``)."""

    def __init__(self, loop):
        self.loop = loop
        self.evaluated = []

    def evaluate(self, env_steps):
        self.evaluated.append(env_steps)
        return {"episode_return": self.loop.run_episode()["episode_return"]}


def test_any_evaluator_that_keeps_the_contract_records_its_evaluations(tmp_path):
    from mava_plugins.recording.evaluator import recording_evaluator

    run = RunConfig(environment="debug:simple_spread", run_dir=str(tmp_path), record_fps=5, record_format="gif")
    loop = _loop(render_mode="rgb_array", max_steps=4)
    worker = recording_evaluator(lambda **handles: _OwnEvaluator(loop), run, counter=None)
    worker.evaluate(30)
    worker.evaluate(60)
    assert worker.evaluated == [30, 60]  # its own evaluate ran, once each
    names = sorted(p.name for p in (tmp_path / "videos").iterdir())
    assert names == ["evaluation_00000030.gif", "evaluation_00000060.gif"]
    _, durations = _gif_frames(tmp_path / "videos" / names[0])
    assert sum(durations) == 5 * 200  # reset + 4 steps at 5 fps (Pillow merges repeated frames)


def test_an_evaluator_without_the_contract_is_refused_naming_the_key(tmp_path):
    from mava_plugins.recording.evaluator import recording_evaluator

    class Silent:
        def run(self):
            pass

    run = RunConfig(environment="debug:simple_spread", run_dir=str(tmp_path), record_fps=5, record_format="gif")
    with pytest.raises(ConfigError, match=r"the evaluator node makes a Silent, which has no loop and evaluate") as info:
        recording_evaluator(Silent, run)
    assert info.value.key == "run.record_eval"


def test_evaluate_record_without_the_recording_plugin_says_so(tmp_path):
    from mava_core.errors import MavaError
    from mava_core.evaluation import evaluate_run

    with pytest.raises(
        MavaError, match=r"^--record needs a plugin that records videos \(run.record_eval\); the 'recording'"
    ):
        evaluate_run(str(tmp_path), record=True, plugin_manager=PluginManager(blocked=["recording"]))
