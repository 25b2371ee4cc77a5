"""Target-network refreshes: a hard copy every ``period`` updates, or Polyak averaging."""
from __future__ import annotations

from typing import Any, Sequence


def copy_variables(source: Sequence[Any], target: Sequence[Any]) -> None:
    for s, t in zip(source, target):
        t.assign(s)


class TargetUpdate:
    """Refreshes target variables inside the compiled training step.

    ``period > 0``: hard copy every ``period`` updates. ``tau > 0``: Polyak averaging each
    update, ``target <- tau * online + (1 - tau) * target``. Exactly one must be set.
    """

    def __init__(self, online: Sequence[Any], target: Sequence[Any], period: int = 0, tau: float = 0.0):
        if (period > 0) == (tau > 0):
            raise ValueError("set exactly one of period (hard updates) and tau (soft updates)")
        if len(online) != len(target):
            raise ValueError(f"online and target networks differ: {len(online)} vs {len(target)} variables")
        self._online = list(online)
        self._target = list(target)
        self._period = int(period)
        self._tau = float(tau)

    def __call__(self, step) -> None:
        import tensorflow as tf

        if self._tau > 0:
            for s, t in zip(self._online, self._target):
                t.assign(self._tau * s + (1.0 - self._tau) * t)
            return

        def hard_copy():
            copy_variables(self._online, self._target)
            return tf.constant(True)

        tf.cond(tf.equal(step % self._period, 0), hard_copy, lambda: tf.constant(False))
