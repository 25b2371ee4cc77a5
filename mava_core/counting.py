"""A shared step counter (environment steps, episodes, trainer steps) for every node of a run."""
from __future__ import annotations

import threading
from typing import Dict


class Counter:
    """Thread-safe named counts; under Launchpad it is one node the others call over RPC."""

    def __init__(self, initial: Dict[str, float] | None = None):
        self._counts: Dict[str, float] = dict(initial or {})
        self._lock = threading.Lock()

    def increment(self, **deltas: float) -> Dict[str, float]:
        with self._lock:
            for key, delta in deltas.items():
                self._counts[key] = self._counts.get(key, 0) + delta
            return dict(self._counts)

    def get_counts(self) -> Dict[str, float]:
        with self._lock:
            return dict(self._counts)

    def get(self, key: str, default: float = 0) -> float:
        with self._lock:
            return self._counts.get(key, default)
