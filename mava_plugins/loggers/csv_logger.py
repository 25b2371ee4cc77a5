"""CSV logger: ``run_dir/logs/<label>.csv``, readable while the run goes on."""
from __future__ import annotations

import csv
import os
import time
from typing import Any, Dict, List, Mapping, Optional

from mava_plugins.loggers.base import to_number


def _cell(value: Any) -> Any:
    number = to_number(value)
    if number is not None:
        return number
    return "" if value is None else value


def _float(text: Optional[str]) -> float:
    """A CSV cell as a number (0 when empty or not numeric)."""
    try:
        return float(text) if text else 0.0
    except ValueError:
        return 0.0


class CSVLogger:
    """Appends one row per ``write``; columns are the union of keys seen so far.

    When a key appears after the header was written, the file is rewritten with the wider
    header (earlier rows keep blanks for the new columns) and atomically replaced, so a
    concurrent reader never sees a half-written file. Every row gets a ``wall_time`` column:
    seconds since the logger was created. The file is flushed after every write.

    ``resume_at``: the run continues from a checkpoint at that many env steps. The existing
    file is kept up to that count (rows logged after the checkpoint are dropped, since those
    steps are taken again) and appended to; ``wall_time`` continues from its last row.
    """

    def __init__(
        self,
        run_dir: str,
        label: str,
        budget: Optional[int] = None,
        every_seconds: float = 5.0,
        resume_at: Optional[int] = None,
    ):
        self.label = label
        self.path = os.path.join(run_dir, "logs", f"{label}.csv")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._start = time.monotonic()
        self._columns: List[str] = []
        self._writer: Optional[csv.DictWriter] = None
        if resume_at is not None and os.path.exists(self.path):
            self._file = self._continue(resume_at)
        else:
            self._file = open(self.path, "w", newline="")

    def _continue(self, resume_at: int):
        """Keep the rows up to ``resume_at`` env steps and open the file for appending."""
        with open(self.path, newline="") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            rows = [row for row in reader if _float(row.get("env_steps")) <= resume_at]
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            if columns:
                writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, self.path)
        if rows:
            self._start -= _float(rows[-1].get("wall_time"))
        self._columns = columns
        handle = open(self.path, "a", newline="")
        if columns:
            self._writer = csv.DictWriter(handle, fieldnames=self._columns, restval="")
        return handle

    def write(self, values: Mapping[str, Any]) -> None:
        """Append ``values`` as a row (plus ``wall_time``), widening the header if needed."""
        row: Dict[str, Any] = {key: _cell(value) for key, value in values.items()}
        row.setdefault("wall_time", round(time.monotonic() - self._start, 3))
        new = [key for key in row if key not in self._columns]
        if new:
            self._columns.extend(new)
            self._rewrite()
        assert self._writer is not None
        self._writer.writerow(row)
        self._file.flush()

    def _rewrite(self) -> None:
        """Rewrite the file with the current columns, keeping the rows written so far."""
        self._file.close()
        with open(self.path, newline="") as handle:
            old_rows = list(csv.DictReader(handle))
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self._columns, restval="")
            writer.writeheader()
            writer.writerows(old_rows)
        os.replace(temporary, self.path)
        self._file = open(self.path, "a", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=self._columns, restval="")

    def close(self) -> None:
        """Flush and close the file (safe to call twice)."""
        if not self._file.closed:
            self._file.flush()
            self._file.close()
