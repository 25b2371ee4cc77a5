"""The ``recording`` plugin: environment-loop hooks feed armed recorders; ``run.record_eval`` wiring.

Per-step cost when nothing is recorded: one hook call that finds no armed recorder.
"""
from __future__ import annotations

import functools

from mava_core.hookspecs import hookimpl
from mava_plugins.recording.recorder import armed_recorder


@hookimpl
def mava_add_run_options(options):
    """``run.record_eval``, ``run.record_format`` and ``run.record_fps``."""
    options.add(
        "record_eval", bool, False, help="save the first episode of every evaluation as a video in run_dir/videos"
    )
    options.add(
        "record_format",
        str,
        "gif",
        choices=("gif", "mp4"),
        help="video format of run.record_eval (mp4 needs mava[record])",
    )
    options.add("record_fps", int, 10, minimum=1, maximum=60, help="frames per second of recorded videos")


@hookimpl
def mava_configure(run, system_config):
    """With ``run.record_eval``, the evaluator's environment is made with ``render_mode="rgb_array"``."""
    if run.record_eval is True:
        from mava_plugins.recording.evaluator import RENDER_OPTIONS

        for key, value in RENDER_OPTIONS.items():
            run.eval_env_options.setdefault(key, value)


@hookimpl
def mava_program_build_nodes(builder, program):
    """Check the environment renders, then make the evaluator node's worker record its evaluations."""
    if not builder.run.record_eval:
        return
    from mava_core.errors import ConfigError
    from mava_core.program import EVALUATOR
    from mava_plugins.recording.evaluator import check_can_record, recording_evaluator

    node = program.one(EVALUATOR)
    if node is None:
        raise ConfigError("run.record_eval", "this program has no evaluator node to record")
    check_can_record(builder)
    node.make = functools.partial(recording_evaluator, node.make, builder.run)


@hookimpl
def mava_evaluation_start(builder):
    """``mava evaluate --record``: refuse an environment that cannot render, before anything is built."""
    if builder.run.record_eval:
        from mava_plugins.recording.evaluator import check_can_record

        check_can_record(builder)


@hookimpl
def mava_evaluation_record(builder, loop, name):
    """``mava evaluate --record``: the first episode goes to ``<run_dir>/videos/<name>.<format>``."""
    from mava_plugins.recording.evaluator import record_checkpoint_episode

    return record_checkpoint_episode(builder, loop, name)


@hookimpl
def mava_env_loop_episode_start(loop):
    recorder = armed_recorder(loop)
    if recorder is not None:
        recorder.episode_start()


@hookimpl
def mava_env_loop_step(loop):
    recorder = armed_recorder(loop)
    if recorder is not None:
        recorder.step()


@hookimpl
def mava_env_loop_episode_end(loop, result):
    recorder = armed_recorder(loop)
    if recorder is not None:
        recorder.episode_end(result)
