"""Learning-curve plot of a run from its CSV logs (safe to call while the run goes on)."""
from __future__ import annotations

import csv
import glob
import io
import json
import os
from typing import Dict, List, Optional, Tuple

Series = Tuple[List[float], List[float]]


def read_csv_rows(path: str) -> List[Dict[str, str]]:
    """The complete rows of a CSV log; a last line cut mid-write and unreadable files are skipped."""
    try:
        with open(path, newline="") as handle:
            text = handle.read()
    except OSError:
        return []
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # drop a partially written last line
    try:
        return list(csv.DictReader(io.StringIO(text)))
    except csv.Error:
        return []


def _series(rows: List[Dict[str, str]], y_key: str) -> Series:
    """(env_steps, y) pairs for the rows where both parse as numbers (row index when no env_steps)."""
    xs: List[float] = []
    ys: List[float] = []
    for index, row in enumerate(rows):
        try:
            y = float(row.get(y_key) or "")
            x = float(row["env_steps"]) if "env_steps" in row else float(index)
        except (TypeError, ValueError):
            continue
        xs.append(x)
        ys.append(y)
    return xs, ys


def moving_average(values: List[float], window: int) -> List[float]:
    """Trailing mean over up to ``window`` values (shorter at the start)."""
    out: List[float] = []
    total = 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def _random_return(run_dir: str) -> Optional[float]:
    try:
        with open(os.path.join(run_dir, "summary.json")) as handle:
            value = json.load(handle).get("random_return")
        return None if value is None else float(value)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def plot_learning_curves(run_dir: str, out_path: Optional[str] = None) -> Optional[str]:
    """Draw the evaluator's and executors' returns against env steps as a PNG.

    Reads ``run_dir/logs/*.csv``: ``evaluator.csv`` (``mean_return``) gets one subplot, with
    ``random_return`` from ``run_dir/summary.json`` as a dashed line; every ``executor*.csv``
    (``episode_return``, smoothed by a moving average) shares another. Writes to
    ``out_path`` (default ``run_dir/learning_curve.png``) and returns it, or returns ``None``
    when there is nothing to plot.
    """
    logs = {
        os.path.splitext(os.path.basename(path))[0]: read_csv_rows(path)
        for path in sorted(glob.glob(os.path.join(run_dir, "logs", "*.csv")))
    }
    evaluator = _series(logs.get("evaluator", []), "mean_return")
    executors = {name: _series(rows, "episode_return") for name, rows in logs.items() if name.startswith("executor")}
    executors = {name: series for name, series in executors.items() if series[0]}
    panels = (["evaluator"] if evaluator[0] else []) + (["executors"] if executors else [])
    if not panels:
        return None

    try:
        import matplotlib
    except ImportError as error:
        from mava_core.errors import MissingDependencyError

        raise MissingDependencyError("matplotlib", "logging", "plot_learning_curves") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    random_return = _random_return(run_dir)
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.5 * len(panels)), squeeze=False)
    for axis, panel in zip(axes[:, 0], panels):
        if panel == "evaluator":
            axis.plot(*evaluator, marker="o", markersize=3, label="evaluator mean return")
            axis.set_title("Evaluator return")
        else:
            for name, (xs, ys) in executors.items():
                window = max(1, min(20, len(ys) // 10))
                (line,) = axis.plot(xs, ys, alpha=0.2, linewidth=0.8)
                axis.plot(xs, moving_average(ys, window), color=line.get_color(), label=name)
            axis.set_title("Executor episode return (smoothed)")
        if random_return is not None and (panel == "evaluator" or "evaluator" not in panels):
            axis.axhline(random_return, linestyle="--", color="grey", label="random policy")
        axis.set_xlabel("env steps")
        axis.set_ylabel("return")
        axis.grid(alpha=0.3)
        axis.legend(loc="best", fontsize="small")
    fig.tight_layout()
    out_path = out_path or os.path.join(run_dir, "learning_curve.png")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path
