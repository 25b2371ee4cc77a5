"""The built-in checkpointer: ``run_dir/checkpoints`` unless ``run.checkpoint=false``."""
from mava_core.hookspecs import hookimpl


@hookimpl(trylast=True)
def mava_checkpointer(builder):
    if not builder.run.checkpoint:
        return None
    from mava_plugins.checkpointing.checkpointer import RunCheckpointer

    return RunCheckpointer(builder)
