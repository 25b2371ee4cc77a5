"""Recording episodes as GIF or MP4 videos from environments that render RGB frames.

* :func:`~mava_plugins.recording.recorder.record_episode` plays one episode of an environment
  loop and saves it (``record_episode(loop, "episode.gif", fps=10)``);
* :class:`~mava_plugins.recording.recorder.EpisodeRecorder` records the next episode a loop plays;
* ``run.record_eval=true`` makes the evaluator save the first episode of every evaluation under
  ``<run_dir>/videos/`` (:mod:`mava_plugins.recording.evaluator`).

The ``recording`` plugin (:mod:`mava_plugins.recording.plugin`) connects them to the
environment-loop hooks. See docs/environments/recording.md.
"""
from mava_plugins.recording.recorder import EpisodeRecorder, record_episode

__all__ = ["EpisodeRecorder", "record_episode"]
