"""Recording episodes of an environment loop: frames from ``environment.render()``, saved as GIF or MP4.

:class:`EpisodeRecorder` is driven by the environment-loop hooks (the ``recording`` plugin's
``mava_env_loop_episode_start``/``_step``/``_end`` hand each event to the recorder armed on that
loop), so any loop built by a :class:`~mava_core.system.SystemBuilder` can be recorded without
changing it. :func:`record_episode` is the one-call API.
"""
from __future__ import annotations

import os
import weakref
from typing import Any, Dict, List, Optional

import numpy as np

from mava_core.errors import ConfigError
from mava_plugins.recording.video import RecordingError, as_rgb_frame, require_writer, video_format, write_video

DEFAULT_FPS = 10
#: the subdirectory of a run directory that evaluation videos go to
VIDEOS = "videos"

# loop -> the recorder armed on it; weak, so a forgotten loop does not stay alive
_ARMED: "weakref.WeakKeyDictionary[Any, EpisodeRecorder]" = weakref.WeakKeyDictionary()


def armed_recorder(loop: Any) -> Optional["EpisodeRecorder"]:
    """The recorder armed on ``loop``, if any (what the plugin's hooks look up, cheaply)."""
    return _ARMED.get(loop) if _ARMED else None


def capture_frame(environment: Any, source: str) -> np.ndarray:
    """``environment.render()`` as a checked RGB frame; every failure is a one-line MavaError."""
    render = getattr(environment, "render", None)
    if render is None:
        raise RecordingError(f"{source} cannot render: it has no render() method")
    try:
        frame = render()
    except ConfigError:
        raise  # e.g. env.render_mode not set: the family's own message says what to pass
    except NotImplementedError as error:
        raise RecordingError(f"{source} cannot render RGB frames ({error or 'render() is not implemented'})") from error
    except Exception as error:  # noqa: BLE001 - a renderer's own failure (no display, no EGL, ...)
        raise RecordingError(f"{source} could not render a frame: {type(error).__name__}: {error}") from error
    return as_rgb_frame(frame, source)


class EpisodeRecorder:
    """Records the next episode an environment loop plays into a GIF or MP4 file.

    ``recorder.record_next(path)`` arms it; the next episode the loop starts is captured (the
    frame after ``reset()`` and one after every step) and written to ``path`` when it ends.
    The episode's result gets ``"video": path``; ``recorder.saved`` lists every file written.
    ``stop()`` disarms it (a partly captured episode is dropped). The loop's environment must
    have been made with ``render_mode="rgb_array"`` (``env.render_mode=rgb_array``, or
    ``run.record_eval=true`` for the evaluator's environment).
    """

    def __init__(self, loop: Any, fps: int = DEFAULT_FPS, source: Optional[str] = None):
        if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
            raise RecordingError(f"fps must be a positive integer, got {fps!r}")
        self.loop = loop
        self.fps = fps
        self.source: str = source or str(getattr(loop, "label", "environment"))
        self.saved: List[str] = []
        self._path: Optional[str] = None
        self._frames: Optional[List[np.ndarray]] = None  # None: not capturing

    def record_next(self, path: str) -> None:
        """Capture the next episode the loop starts and save it to ``path`` (``.gif`` or ``.mp4``)."""
        require_writer(video_format(path))
        self._path = path
        self._frames = None
        _ARMED[self.loop] = self

    def stop(self) -> None:
        """Disarm: no further episode is recorded."""
        if _ARMED.get(self.loop) is self:
            del _ARMED[self.loop]
        self._path = None
        self._frames = None

    # ---------------------------------------------------- called by the plugin's loop hooks
    def episode_start(self) -> None:
        if self._path is not None:
            self._frames = [capture_frame(self.loop.environment, self.source)]

    def step(self) -> None:
        if self._frames is not None:
            self._frames.append(capture_frame(self.loop.environment, self.source))

    def episode_end(self, result: Dict[str, Any]) -> None:
        if self._frames is None or self._path is None:
            return
        frames, path = self._frames, self._path
        self.stop()
        write_video(frames, path, self.fps)
        self.saved.append(path)
        result["video"] = path


def record_episode(loop: Any, path: str, fps: int = DEFAULT_FPS) -> Dict[str, Any]:
    """Play one episode of ``loop`` and save it as a video; returns the episode's result.

    Args:
        loop: an :class:`~mava_core.environment_loop.EnvironmentLoop` whose environment was
            made with ``render_mode="rgb_array"``, e.g. ``builder.make_executor(0, None,
            variable_source, evaluation=True)[0]`` for a builder with ``run.record_eval=true``
            (which adds the render mode to the evaluator's environment options).
        path: the file to write; its extension chooses the format, ``.gif`` (Pillow) or
            ``.mp4`` (needs ``pip install 'mava[record]'``). Parent directories are created.
        fps: frames per second of the video.

    The result is the loop's usual episode result plus ``"video": path``. An environment
    that cannot render fails with a one-line :class:`~mava_core.errors.MavaError`.
    """
    recorder = EpisodeRecorder(loop, fps)
    recorder.record_next(path)
    try:
        result = loop.run_episode()
    finally:
        recorder.stop()
    if not recorder.saved:
        raise RecordingError(
            "no frames were captured: the 'recording' plugin is not registered with the plugin manager "
            "this loop's hooks come from (blocked by MAVA_BLOCK_PLUGINS, or a PluginManager without entry points?)"
        )
    return result


def evaluation_video_path(run: Any, env_steps: int) -> str:
    """Where the evaluator's recording at ``env_steps`` goes: ``<run_dir>/videos/evaluation_<env_steps>.<format>``."""
    return os.path.join(run.run_dir, VIDEOS, f"evaluation_{int(env_steps):08d}.{run.record_format}")
