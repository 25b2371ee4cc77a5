"""Parameter flow from trainer to executors: a variable source and the client that pulls from it."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence


class VariableSource:
    """Serves the current values of named groups of variables as numpy arrays."""

    def __init__(self, groups: Mapping[str, Sequence[Any]]):
        self._groups = dict(groups)

    def get_variables(self, names: Sequence[str]) -> Dict[str, List[Any]]:
        return {name: [variable.numpy() for variable in self._groups[name]] for name in names}


class VariableClient:
    """Copies a source's values into local variables every ``update_period`` calls to ``update``."""

    def __init__(self, source: Any, groups: Mapping[str, Sequence[Any]], update_period: int = 100):
        self._source = source
        self._groups = dict(groups)
        self._names = list(self._groups)
        self._period = max(1, int(update_period))
        self._calls = 0
        self.updates = 0

    def update(self, wait: bool = False) -> None:
        self._calls += 1
        if wait or self._calls >= self._period:
            self._calls = 0
            self.update_and_wait()

    def update_and_wait(self) -> None:
        values = self._source.get_variables(self._names)
        for name, arrays in values.items():
            for variable, array in zip(self._groups[name], arrays):
                variable.assign(array)
        self.updates += 1
