"""How finished transitions reach Reverb: one item each, or blocks of ``G`` appended once.

The n-step adder (:class:`~mava_plugins.datasets.adders.NStepTransitionAdder`) computes
transitions; a writer here sends them:

* :class:`SingleTransitionWriter` (``dataset.block_size`` 1): each transition is one append
  and one item. Every environment copy has its own.
* :class:`BlockTransitionWriter` (``dataset.block_size`` G > 1): one writer shared by all the
  copies of an executor collects finished transitions, from whichever copies finish them, and
  appends every ``G`` of them as **one** step with a leading ``[G]`` axis and one item. A
  Reverb append costs about the same whatever the array sizes (it is per column, see
  ``benchmarks/replay_write_cost.py``), so a block costs about as much as one transition.

Both bound the items in flight (Reverb's back-pressure) the same way. A block writer drops the
last, incomplete block (fewer than ``G`` transitions) when the executor closes.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import numpy as np

from mava_plugins.datasets.sequences import BOUND_EVERY_ITEMS, MAX_IN_FLIGHT_ITEMS, flush_all, flush_in_slices


class SingleTransitionWriter:
    """Appends each transition as one step and creates one item referencing it."""

    def __init__(self, client: Any, table: str, priority: float = 1.0):
        self._writer = client.trajectory_writer(num_keep_alive_refs=1)
        self._table = table
        self._priority = priority
        self.items_written = 0
        self._closed = False

    def write(self, transition: Dict[str, Any], should_stop: Callable[[], bool]) -> int:
        """Send one transition; returns the items created (always 1)."""
        self._writer.append(transition)
        self._writer.create_item(self._table, self._priority, _last_step(self._writer.history))
        self.items_written += 1
        # wait (the rate limiter's back-pressure) until few items are unconfirmed, never past should_stop()
        if self.items_written % BOUND_EVERY_ITEMS == 0:
            flush_in_slices(self._writer, MAX_IN_FLIGHT_ITEMS, should_stop)
        return 1

    def flush(self, should_stop: Optional[Callable[[], bool]] = None) -> None:
        """Send every pending item (with ``should_stop``: until it says to give up)."""
        flush_all(self._writer, should_stop)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.close()


class BlockTransitionWriter(SingleTransitionWriter):
    """Collects ``block`` transitions (from any of an executor's copies) and sends them as one item."""

    def __init__(self, client: Any, table: str, block: int, priority: float = 1.0):
        super().__init__(client, table, priority)
        self.block = int(block)
        self._pending: List[Dict[str, Any]] = []

    @property
    def pending(self) -> int:
        """Finished transitions waiting for their block to fill."""
        return len(self._pending)

    def write(self, transition: Dict[str, Any], should_stop: Callable[[], bool]) -> int:
        """Keep one transition; returns 1 when it completed a block (which was sent), else 0."""
        self._pending.append(transition)
        if len(self._pending) < self.block:
            return 0
        block, self._pending = stack_leaves(self._pending), []
        return super().write(block, should_stop)


def stack_leaves(transitions: List[Any]) -> Any:
    """One nested structure whose arrays stack the transitions' arrays along a new leading axis."""
    first = transitions[0]
    if isinstance(first, dict):
        return {key: stack_leaves([t[key] for t in transitions]) for key in first}
    return np.array(transitions)  # as np.stack, and cheaper for many small arrays


def _last_step(history: Any) -> Any:
    if isinstance(history, dict):
        return {k: _last_step(v) for k, v in history.items()}
    return history[-1]
