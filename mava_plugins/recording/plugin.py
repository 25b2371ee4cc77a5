"""The ``recording`` plugin: environment-loop hooks feed armed recorders; ``run.record_eval`` wiring.

Per-step cost when nothing is recorded: one hook call that finds no armed recorder.
"""
from __future__ import annotations

import functools

from mava_core.hookspecs import hookimpl
from mava_plugins.recording.recorder import armed_recorder


@hookimpl
def mava_configure(run, system_config):
    """With ``run.record_eval``, the evaluator's environment is made with ``render_mode="rgb_array"``."""
    if run.record_eval is True:
        from mava_plugins.recording.evaluator import RENDER_OPTIONS

        for key, value in RENDER_OPTIONS.items():
            run.eval_env_options.setdefault(key, value)


@hookimpl
def mava_program_build_nodes(builder, program):
    """Check the environment renders, then make the evaluator node record its evaluations."""
    if not builder.run.record_eval:
        return
    from mava_core.errors import ConfigError
    from mava_core.program import EVALUATOR
    from mava_core.workers import EvaluatorWorker
    from mava_plugins.recording.evaluator import RecordingEvaluatorWorker, check_can_record

    node = program.one(EVALUATOR)
    if node is None:
        raise ConfigError("run.record_eval", "this program has no evaluator node to record")
    make = node.make
    if not (isinstance(make, functools.partial) and make.func is EvaluatorWorker):
        raise ConfigError("run.record_eval", f"the evaluator node was replaced by a plugin ({make!r}); recording needs the built-in evaluator")
    check_can_record(builder)
    node.make = functools.partial(RecordingEvaluatorWorker, *make.args, **make.keywords)


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
