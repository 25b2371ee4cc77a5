"""The built-in checkpointer: ``run_dir/checkpoints`` unless ``run.checkpoint=false``."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_add_run_options(options):
    """The checkpoint settings: ``run.checkpoint``, ``run.checkpoint_every[_seconds]``, ``run.checkpoint_keep``."""
    options.add("checkpoint", bool, True, help="write checkpoints (trainer, counts, replay) into run_dir/checkpoints")
    options.add("checkpoint_every", int, 0, minimum=0, help="environment steps between checkpoints; 0: only at exit")
    options.add(
        "checkpoint_every_seconds", float, 600.0, minimum=0.0, help="seconds between checkpoints; 0: only at exit"
    )
    options.add("checkpoint_keep", int, 2, minimum=1, help="checkpoints kept (the oldest are removed)")


@hookimpl(trylast=True)
def mava_checkpointer(builder):
    if not builder.run.checkpoint:
        return None
    from mava_plugins.checkpointing.checkpointer import RunCheckpointer

    return RunCheckpointer(builder)
