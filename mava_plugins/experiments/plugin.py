"""The ``experiments`` plugin: adds ``mava experiment`` and ``mava report`` to the ``mava`` command."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_add_commands(commands):
    from mava_plugins.experiments.commands import add_commands, run_experiment, run_report

    add_commands(commands)
    commands.choices["experiment"].set_defaults(mava_command=run_experiment)
    commands.choices["report"].set_defaults(mava_command=lambda args, plugin_manager: run_report(args))
