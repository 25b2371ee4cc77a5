"""Loggers: where run metrics go (terminal progress line, CSV files, TensorBoard).

Every logger takes ``(run_dir, label, budget=None, every_seconds=5.0)`` and has
``write(values)`` and ``close()``. :func:`mava_core.logger_group.make_loggers` builds a
:class:`~mava_core.logger_group.LoggerGroup` from registered names, and
:func:`mava_plugins.loggers.plot.plot_learning_curves` draws a run's CSV logs.
"""
