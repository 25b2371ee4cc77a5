"""Registers the built-in loggers; targets are lazy so importing this plugin stays cheap."""
from mava_core.hookspecs import hookimpl

_PACKAGE = "mava_plugins.loggers"


@hookimpl
def mava_register(registry):
    registry.add(
        "logger", "terminal", f"{_PACKAGE}.terminal:TerminalLogger", description="throttled progress line on stdout"
    )
    registry.add(
        "logger", "csv", f"{_PACKAGE}.csv_logger:CSVLogger", description="one CSV file per label under run_dir/logs"
    )
    registry.add(
        "logger",
        "tensorboard",
        f"{_PACKAGE}.tensorboard_logger:TensorBoardLogger",
        description="TensorBoard scalars under run_dir/tensorboard",
    )
    registry.add_extra("matplotlib", "logging")  # the learning-curve plot


@hookimpl(wrapper=True)
def mava_program_launch(program, builder):
    """After every run, however it ended, draw the learning curve of what was logged."""
    try:
        return (yield)
    finally:
        from mava_plugins.loggers.plot import plot_learning_curves

        plot_learning_curves(builder.run.run_dir)
