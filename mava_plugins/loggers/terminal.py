"""Terminal logger: a throttled one-line progress report on stdout."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, List, Mapping, Optional, Tuple

from mava_plugins.loggers.base import Number, step_of, to_number

#: Most extra values shown after the step and rate.
MAX_EXTRA = 5
#: Values every episode or evaluation row carries, shown only when room is left, so that the
#: main return and the environment's own metrics (win rate, done rate, ...) come first.
SECONDARY = frozenset(
    (
        "std_return",
        "max_return",
        "min_return",
        "team_return",
        "mean_team_return",
        "steps_per_second",
        "episodes",
        "trainer_steps",
    )
)


def _format(value: Number) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def _extras(values: Mapping[str, Any], step_key: str) -> List[Tuple[str, Number]]:
    """Up to ``MAX_EXTRA`` numeric values: keys containing "return" first, then the rest, ``SECONDARY`` last."""
    numeric = [
        (k, n) for k, v in values.items() if k not in (step_key, "wall_time") and (n := to_number(v)) is not None
    ]
    primary = [item for item in numeric if item[0] not in SECONDARY]
    returns = [item for item in primary if "return" in item[0]]
    others = [item for item in primary if "return" not in item[0]]
    secondary = [item for item in numeric if item[0] in SECONDARY]
    return (returns + others + secondary)[:MAX_EXTRA]


class TerminalLogger:
    """Prints ``[label] env_steps 12,000/50,000 (24%) | 1,234 steps/s | mean_return -45.3 | ...``.

    Prints on the first write, then at most once per ``every_seconds``; ``close`` prints the
    latest values if they were not shown yet. On a TTY the line is overwritten in place with
    ``\\r``; otherwise (e.g. Launchpad subprocess output) each update is its own line.
    ``steps/s`` is measured between successive printed updates.
    """

    #: Clock used for throttling and rates (tests may replace it on an instance).
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, run_dir: str, label: str, budget: Optional[int] = None, every_seconds: float = 5.0):
        self.label = label
        self.budget = budget
        self.every_seconds = every_seconds
        self._writes = 0
        self._last_print: Optional[Tuple[float, int]] = None  # (time, step) of the last printed line
        self._pending: Optional[Mapping[str, Any]] = None
        self._line_width = 0
        self._tty_line_open = False

    def write(self, values: Mapping[str, Any]) -> None:
        """Remember ``values`` and print them unless a line was printed too recently."""
        self._writes += 1
        self._pending = dict(values)
        now = self.clock()
        if self._last_print is None or now - self._last_print[0] >= self.every_seconds:
            self._print(now)

    def format_line(self, values: Mapping[str, Any], now: float) -> Tuple[str, int]:
        """The progress line for ``values`` at time ``now``, and the step it reports."""
        step_key, step = step_of(values, self._writes)
        progress = f"{step_key} {step:,}"
        if self.budget:
            progress += f"/{self.budget:,} ({100 * step / self.budget:.0f}%)"
        parts = [f"[{self.label}] {progress}"]
        if self._last_print is not None:
            last_time, last_step = self._last_print
            if now > last_time and step >= last_step:
                parts.append(f"{(step - last_step) / (now - last_time):,.0f} steps/s")
        parts.extend(f"{key} {_format(value)}" for key, value in _extras(values, step_key))
        return " | ".join(parts), step

    def _print(self, now: float) -> None:
        assert self._pending is not None
        line, step = self.format_line(self._pending, now)
        self._pending = None
        self._last_print = (now, step)
        stream = sys.stdout
        if stream.isatty():
            stream.write("\r" + line.ljust(self._line_width))
            self._line_width = len(line)
            self._tty_line_open = True
        else:
            stream.write(line + "\n")
        stream.flush()

    def close(self) -> None:
        """Print the latest values if still unshown, and end an overwritten TTY line."""
        if self._pending is not None:
            self._print(self.clock())
        if self._tty_line_open:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self._tty_line_open = False
