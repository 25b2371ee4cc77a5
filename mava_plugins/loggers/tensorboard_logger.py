"""TensorBoard logger: numeric values as scalars under ``run_dir/tensorboard/<label>/``."""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from mava_plugins.loggers.base import step_of, to_number


class TensorBoardLogger:
    """Writes every numeric value as the scalar ``<label>/<key>`` at the row's step.

    Strings are skipped, as is the key used as the step. TensorFlow is imported when the
    logger is built, not when the module is imported.
    """

    def __init__(self, run_dir: str, label: str, budget: Optional[int] = None, every_seconds: float = 5.0):
        try:
            import tensorflow as tf
        except ImportError as error:
            from mava_core.errors import MissingDependencyError

            raise MissingDependencyError("tensorflow", "tf", "logger 'tensorboard'") from error
        self._tf = tf
        self.label = label
        self.logdir = os.path.join(run_dir, "tensorboard", label)
        os.makedirs(self.logdir, exist_ok=True)
        flush_millis = max(1, int(every_seconds * 1000))
        self._writer = tf.summary.create_file_writer(self.logdir, flush_millis=flush_millis)
        self._writes = 0
        self._closed = False

    def write(self, values: Mapping[str, Any]) -> None:
        """Record each numeric entry of ``values`` at its step."""
        self._writes += 1
        step_key, step = step_of(values, self._writes)
        with self._writer.as_default():
            for key, value in values.items():
                number = to_number(value)
                if key == step_key or number is None:
                    continue
                self._tf.summary.scalar(f"{self.label}/{key}", number, step=step)

    def close(self) -> None:
        """Flush pending events and close the event file (safe to call twice)."""
        if not self._closed:
            self._closed = True
            self._writer.flush()
            self._writer.close()
