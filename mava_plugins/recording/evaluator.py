"""``run.record_eval``: the evaluator records the first episode of every evaluation.

The ``recording`` plugin checks, before any process starts, that the run's environment
renders RGB frames (:func:`check_can_record`), then wraps the program's evaluator node so
that the worker it makes records (:func:`recording_evaluator`): whatever worker the node
makes, as long as it keeps the evaluator contract (a ``loop`` and ``evaluate(env_steps)``),
saves ``<run_dir>/videos/evaluation_<env_steps>.<format>``.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict

from mava_core.contracts import Evaluator
from mava_core.errors import ConfigError
from mava_plugins.recording.recorder import (
    VIDEOS,
    EpisodeRecorder,
    capture_frame,
    evaluation_video_path,
    record_episode,
)
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
        raise ConfigError(
            "run.record_eval", f"{name} cannot render RGB frames ({error.problem}); see docs/environments/recording.md"
        ) from error
    try:
        environment.reset()
        capture_frame(environment, name)
    except (RecordingError, ConfigError) as error:
        problem = error.problem if isinstance(error, ConfigError) else str(error)
        raise ConfigError("run.record_eval", f"{problem}; see docs/environments/recording.md") from error
    finally:
        environment.close()


class RecordingEvaluate:
    """Replaces an evaluator worker's ``evaluate``: the first episode of each evaluation is saved as a video.

    The video of the evaluation at ``env_steps`` is ``<run_dir>/videos/evaluation_<env_steps
    as 8 digits>.<run.record_format>`` at ``run.record_fps`` frames per second; the last one
    is the final evaluation's. The episode is one of the ``run.eval_episodes`` averaged as usual.
    """

    def __init__(self, worker: Evaluator, evaluate: Callable[[int], Dict[str, float]], run: Any):
        self._worker = worker
        self._evaluate = evaluate
        self._run = run

    def __call__(self, env_steps: int) -> Dict[str, float]:
        recorder = EpisodeRecorder(self._worker.loop, fps=self._run.record_fps, source=self._run.environment)
        recorder.record_next(evaluation_video_path(self._run, env_steps))
        try:
            return self._evaluate(env_steps)
        finally:
            recorder.stop()


def recording_evaluator(make: Callable[..., Any], run: Any, *args: Any, **handles: Any) -> Any:
    """The evaluator node's worker, made by its own ``make``, recording its evaluations.

    The worker must keep the evaluator contract: ``evaluate(env_steps)`` plays the
    evaluation's episodes on ``worker.loop``; another worker is refused naming ``run.record_eval``.
    """
    worker = make(*args, **handles)
    evaluate = getattr(worker, "evaluate", None)
    if not callable(evaluate) or not (hasattr(type(worker), "loop") or "loop" in vars(worker)):
        raise ConfigError(
            "run.record_eval",
            f"the evaluator node makes a {type(worker).__name__}, which has no loop and evaluate(env_steps) to record",
        )
    worker.evaluate = RecordingEvaluate(worker, evaluate, run)
    return worker


def record_checkpoint_episode(builder: Any, loop: Any, name: str) -> Dict[str, Any]:
    """``mava evaluate --record``: play one episode of ``loop`` into ``<run_dir>/videos/<name>.<format>``.

    ``mava_evaluation_start`` checked the environment renders and the video writer is installed.
    """
    run = builder.run
    video = os.path.join(run.run_dir, VIDEOS, f"{name}.{run.record_format}")
    return record_episode(loop, video, fps=run.record_fps)
