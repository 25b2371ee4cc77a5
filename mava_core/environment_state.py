"""Carrying environments' state (e.g. normalisation statistics) across processes of one run.

An environment's :meth:`~mava_core.environment.MultiAgentEnvironment.saved_state` is what a
later environment of the same run should start from. Executors save it through the run's
checkpointer (``save_environment_state``) every :data:`SAVE_EVERY_SECONDS` at an episode's
end and when they close; a resumed executor restores its own copies' states (or, for a copy
that saved none, all executors' states merged); ``mava evaluate`` restores the merge of
every executor's. A checkpointer without these methods simply carries nothing over.
"""
from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence

from mava_core.errors import CheckpointError

#: at most one save per executor in this many seconds (and one more when it closes)
SAVE_EVERY_SECONDS = 30.0


def saved_state_of(environment: Any) -> Dict[str, Any]:
    """``environment.saved_state()``, or ``{}`` for an environment object without the method."""
    saver = getattr(environment, "saved_state", None)
    return saver() if callable(saver) else {}


def _all_copies(checkpointer: Any) -> List[Dict[str, Any]]:
    reader = getattr(checkpointer, "environment_states", None)
    if reader is None:
        return []
    return [copy for copies in reader().values() for copy in copies if copy]


def _restore(environment: Any, state: Dict[str, Any], source: str) -> None:
    try:
        environment.restore_saved_state(state)
    except ValueError as error:
        raise CheckpointError(
            f"the environment state saved in {source} does not fit this run's environment: {error}"
        ) from None


def restore_merged(checkpointer: Any, environment: Any) -> bool:
    """Restore every executor's saved states, merged, into ``environment``; whether there were any."""
    return _restore_merge(environment, _all_copies(checkpointer))


def _restore_merge(environment: Any, copies: List[Dict[str, Any]]) -> bool:
    if not copies:
        return False
    try:
        merged = environment.merge_saved_states(copies)
    except ValueError as error:
        raise CheckpointError(f"the executors' saved environment states cannot be merged: {error}") from None
    _restore(environment, merged, "the run's checkpoints (all executors merged)")
    return True


class EnvironmentStateKeeper:
    """Saves one executor's environment copies' states, and restores them when the run resumes."""

    def __init__(self, checkpointer: Any, node: str):
        self._checkpointer = checkpointer
        self.node = node
        self._save = getattr(checkpointer, "save_environment_state", None)
        self._last_save: Optional[float] = None

    def restore(self, environments: Sequence[Any]) -> None:
        """Give each copy its own saved state, or the merge of all executors' when it has none."""
        reader = getattr(self._checkpointer, "environment_state", None)
        if reader is None:
            return
        own = reader(self.node) or []
        others = None  # every executor's saved copies, read once, for copies that saved none
        for index, environment in enumerate(environments):
            if index < len(own) and own[index]:
                _restore(environment, own[index], f"{self.node}'s saved state (copy {index})")
                continue
            if others is None:
                others = _all_copies(self._checkpointer)
            _restore_merge(environment, others)

    def maybe_save(self, environments: Sequence[Any], force: bool = False) -> bool:
        """Save the copies' states when :data:`SAVE_EVERY_SECONDS` have passed (or ``force``)."""
        if self._save is None:
            return False
        now = time.monotonic()
        if not force and self._last_save is not None and now - self._last_save < SAVE_EVERY_SECONDS:
            return False
        copies = [saved_state_of(environment) for environment in environments]
        self._last_save = now
        if not any(copies):
            return False  # nothing to carry over (no stateful wrappers)
        self._save(self.node, copies)
        return True
