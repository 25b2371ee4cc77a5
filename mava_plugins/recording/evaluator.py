"""``run.record_eval``: the evaluator records the first episode of every evaluation.

The ``recording`` plugin checks, before any process starts, that the run's environment
renders RGB frames (:func:`check_can_record`), then swaps the program's evaluator node for a
:class:`RecordingEvaluatorWorker`, which saves ``<run_dir>/videos/evaluation_<env_steps>.<format>``.
"""
from __future__ import annotations

from typing import Any, Dict

from mava_core.errors import ConfigError
from mava_core.workers import EvaluatorWorker
from mava_plugins.recording.recorder import EpisodeRecorder, capture_frame, evaluation_video_path
from mava_plugins.recording.video import RecordingError, require_writer

RENDER_OPTIONS = {"render_mode": "rgb_array"}


def check_can_record(builder: Any) -> None:
    """Make the evaluator's environment once and render a frame; ConfigError on ``run.record_eval`` if it cannot."""
    run = builder.run
    require_writer(run.record_format)
    name = run.environment
    try:
        environment = builder.make_environment(builder.executor_seed(0, evaluation=True), **run.eval_env_options)
    except ConfigError as error:
        if error.key != "env.render_mode":
            raise
        raise ConfigError("run.record_eval", f"{name} cannot render RGB frames ({error.problem}); see docs/environments/recording.md") from error
    try:
        environment.reset()
        capture_frame(environment, name)
    except (RecordingError, ConfigError) as error:
        problem = error.problem if isinstance(error, ConfigError) else str(error)
        raise ConfigError("run.record_eval", f"{problem}; see docs/environments/recording.md") from error
    finally:
        environment.close()


class RecordingEvaluatorWorker(EvaluatorWorker):
    """The built-in evaluator, also saving the first episode of each evaluation as a video.

    The video of the evaluation at ``env_steps`` is ``<run_dir>/videos/evaluation_<env_steps
    as 8 digits>.<run.record_format>`` at ``run.record_fps`` frames per second; the last one
    is the final evaluation's. The episode is one of the ``run.eval_episodes`` averaged as
    usual.
    """

    def __init__(self, builder: Any, *args: Any, **handles: Any):
        super().__init__(builder, *args, **handles)
        self._run = builder.run

    def evaluate(self, env_steps: int) -> Dict[str, float]:
        recorder = EpisodeRecorder(self.loop, fps=self._run.record_fps, source=self._run.environment)
        recorder.record_next(evaluation_video_path(self._run, env_steps))
        try:
            return super().evaluate(env_steps)
        finally:
            recorder.stop()
