"""``mava report``: aggregate runs across seeds into a Markdown table and plots with interval bands.

Runs are found by their ``summary.json`` under the given directories (experiment
directories, or single run directories) and grouped by system and task. A run's score is
its final evaluation's mean per-agent return, normalised to ``(score - low) / (high - low)``
where the task has known bounds (:data:`KNOWN_BOUNDS` or ``--bounds TASK=LOW:HIGH``), raw
otherwise. Aggregates across tasks (and the performance profile) need every task normalised;
with raw returns they are given per task only.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mava_core.errors import MavaError
from mava_plugins.experiments import stats
from mava_plugins.experiments.grid import read_summary

#: per-agent episode return bounds of tasks whose best and worst returns are known
KNOWN_BOUNDS: Dict[str, Tuple[float, float]] = {
    "debug:two_step": (0.0, 8.0),  # the payoff matrices' smallest and largest entries
    "debug:switch_riddle": (-1.0, 1.0),  # every agent is paid -1 or +1 at the end (0 if time runs out)
}


@dataclasses.dataclass
class RunRecord:
    system: str
    task: str
    seed: int
    run_dir: str
    summary: Dict[str, Any]


def find_runs(paths: Sequence[str]) -> List[RunRecord]:
    """Every complete run (a valid ``summary.json``) under ``paths``, each once."""
    seen, records = set(), []
    for path in paths:
        if not os.path.isdir(path):
            raise MavaError(f"{path} is not a directory")
        for directory, _, files in sorted(os.walk(path)):
            if "summary.json" not in files:
                continue
            real = os.path.realpath(directory)
            summary = read_summary(directory)
            if real in seen or summary is None:
                continue
            seen.add(real)
            records.append(RunRecord(summary["system"], summary["environment"], int(summary.get("seed", 0)), directory, summary))
    if not records:
        raise MavaError(f"no finished runs (summary.json) under {', '.join(paths)}")
    return records


def parse_bounds(items: Sequence[str]) -> Dict[str, Tuple[float, float]]:
    """``TASK=LOW:HIGH`` items on top of :data:`KNOWN_BOUNDS`."""
    bounds = dict(KNOWN_BOUNDS)
    for item in items:
        try:
            task, values = item.rsplit("=", 1)
            low, high = (float(v) for v in values.split(":"))
        except ValueError:
            raise MavaError(f"--bounds {item!r} must be TASK=LOW:HIGH, e.g. debug:two_step=0:8") from None
        if not low < high:
            raise MavaError(f"--bounds {item!r}: LOW must be below HIGH")
        bounds[task] = (low, high)
    return bounds


@dataclasses.dataclass
class Report:
    """Everything ``mava report`` prints and draws."""

    table: str
    numbers: Dict[str, Any]
    figures: List[str]


class _Scores:
    """Scores by (system, task), normalised where bounds are known."""

    def __init__(self, records: Sequence[RunRecord], bounds: Dict[str, Tuple[float, float]]):
        self.records = records
        self.bounds = bounds
        self.systems = sorted({r.system for r in records})
        self.tasks = sorted({r.task for r in records})
        self.normalised = all(t in bounds for t in self.tasks)

    def scale(self, task: str, values):
        values = np.asarray(values, np.float64)
        if task not in self.bounds:
            return values
        low, high = self.bounds[task]
        return (values - low) / (high - low)

    def runs(self, system: str, task: str) -> List[RunRecord]:
        return sorted((r for r in self.records if r.system == system and r.task == task), key=lambda r: r.seed)

    def final(self, system: str, task: str) -> np.ndarray:
        return self.scale(task, [r.summary["final_mean_return"] for r in self.runs(system, task)])


def _interval(point: float, low: float, high: float) -> str:
    return f"{point:.3f} [{low:.3f}, {high:.3f}]"


def build_report(records: Sequence[RunRecord], out_dir: str, bounds: Optional[Dict[str, Tuple[float, float]]] = None,
                 replicates: int = 2000, seed: int = 0) -> Report:
    """The Markdown table, the numbers (``report.json``) and the PNG figures written into ``out_dir``."""
    scores = _Scores(records, parse_bounds([]) if bounds is None else bounds)
    rng = np.random.default_rng(seed)
    numbers: Dict[str, Any] = {"replicates": replicates, "confidence": 0.95, "rows": [], "improvement": []}
    lines = ["| task | system | runs | score | IQM [95% CI] | mean [95% CI] | median | random policy |",
             "| --- | --- | ---: | --- | --- | --- | ---: | ---: |"]
    for task in scores.tasks:
        kind = "normalised" if task in scores.bounds else "raw return"
        for system in scores.systems:
            values = scores.final(system, task)
            if values.size == 0:
                continue
            runs = scores.runs(system, task)
            iqm = stats.point_and_interval([values], stats.iqm, rng, replicates)
            mean = stats.point_and_interval([values], stats.mean, rng, replicates)
            randoms = [r.summary.get("random_return") for r in runs if r.summary.get("random_return") is not None]
            random = float(np.mean(scores.scale(task, randoms))) if randoms else None
            lines.append(f"| {task} | {system} | {values.size} | {kind} | {_interval(*iqm)} | {_interval(*mean)} | "
                         f"{float(stats.median(values)):.3f} | {'-' if random is None else f'{random:.3f}'} |")
            numbers["rows"].append({"task": task, "system": system, "runs": int(values.size), "normalised": task in scores.bounds,
                                    "seeds": [r.seed for r in runs], "scores": values.tolist(), "iqm": iqm, "mean": mean,
                                    "median": float(stats.median(values)), "random": random})
    if scores.normalised and len(scores.tasks) > 1:
        for system in scores.systems:
            strata = [scores.final(system, t) for t in scores.tasks]
            if any(s.size == 0 for s in strata):
                continue
            iqm = stats.point_and_interval(strata, stats.iqm, rng, replicates)
            mean = stats.point_and_interval(strata, stats.mean, rng, replicates)
            lines.append(f"| all tasks | {system} | {sum(s.size for s in strata)} | normalised | {_interval(*iqm)} | "
                         f"{_interval(*mean)} | {float(stats.median(np.concatenate(strata))):.3f} | - |")
            numbers["rows"].append({"task": "all", "system": system, "iqm": iqm, "mean": mean})
    table = "\n".join(lines)
    pairs = [(a, b) for a in scores.systems for b in scores.systems if a != b]
    if pairs:
        table += "\n\n| probability of improvement | P(X > Y) [95% CI] | tasks |\n| --- | --- | ---: |"
    for x, y in pairs:
        tasks = [t for t in scores.tasks if scores.final(x, t).size and scores.final(y, t).size]
        if not tasks:
            continue
        p = stats.probability_of_improvement([scores.final(x, t) for t in tasks], [scores.final(y, t) for t in tasks], rng, replicates)
        table += f"\n| {x} > {y} | {_interval(*p)} | {len(tasks)} |"
        numbers["improvement"].append({"x": x, "y": y, "tasks": tasks, "probability": p})
    os.makedirs(out_dir, exist_ok=True)
    figures = [_learning_curves(scores, out_dir, rng, replicates)]
    if scores.normalised:
        figures.append(_performance_profiles(scores, out_dir, rng, replicates))
    with open(os.path.join(out_dir, "report.md"), "w") as handle:
        handle.write(table + "\n")
    with open(os.path.join(out_dir, "report.json"), "w") as handle:
        json.dump(numbers, handle, indent=2)
    return Report(table, numbers, figures)


def _curve(run: RunRecord) -> Tuple[np.ndarray, np.ndarray]:
    evaluations = sorted(run.summary["evaluations"], key=lambda e: e["env_steps"])
    return np.array([e["env_steps"] for e in evaluations], np.float64), np.array([e["mean_return"] for e in evaluations], np.float64)


def learning_curve(scores: "_Scores", system: str, task: str, rng, replicates: int):
    """Evaluation steps, IQM across seeds of the (interpolated) evaluation returns, and its interval band."""
    curves = [_curve(r) for r in scores.runs(system, task)]
    steps = curves[0][0]
    values = np.stack([np.interp(steps, s, scores.scale(task, v)) for s, v in curves], axis=1)  # [steps, runs]
    points, lows, highs = zip(*(stats.point_and_interval([row], stats.iqm, rng, replicates) for row in values))
    return steps, np.array(points), np.array(lows), np.array(highs)


def _learning_curves(scores: "_Scores", out_dir: str, rng, replicates: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(scores.tasks), figsize=(5 * len(scores.tasks), 3.6), squeeze=False)
    for axis, task in zip(axes[0], scores.tasks):
        for system in scores.systems:
            if not scores.runs(system, task):
                continue
            steps, points, lows, highs = learning_curve(scores, system, task, rng, replicates)
            line, = axis.plot(steps, points, label=f"{system} ({len(scores.runs(system, task))} seeds)")
            axis.fill_between(steps, lows, highs, color=line.get_color(), alpha=0.25)
        axis.set_title(task)
        axis.set_xlabel("environment steps")
        axis.set_ylabel("normalised score (IQM)" if task in scores.bounds else "mean return (IQM)")
        axis.legend(fontsize="small")
    figure.suptitle("evaluation return: IQM over seeds, 95% bootstrap CI", fontsize=10)
    figure.tight_layout()
    path = os.path.join(out_dir, "learning_curves.png")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _performance_profiles(scores: "_Scores", out_dir: str, rng, replicates: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_scores = np.concatenate([scores.final(s, t) for s in scores.systems for t in scores.tasks])
    thresholds = np.linspace(min(0.0, all_scores.min()), max(1.0, all_scores.max()), 101)
    figure, axis = plt.subplots(figsize=(5, 3.6))
    for system in scores.systems:
        strata = [scores.final(system, t) for t in scores.tasks if scores.final(system, t).size]
        profile, low, high = stats.performance_profile(strata, thresholds, rng, replicates)
        line, = axis.plot(thresholds, profile, label=system)
        axis.fill_between(thresholds, low, high, color=line.get_color(), alpha=0.25)
    axis.set_xlabel("normalised score τ")
    axis.set_ylabel("fraction of runs with score > τ")
    axis.set_title("performance profile (95% CI)")
    axis.legend(fontsize="small")
    figure.tight_layout()
    path = os.path.join(out_dir, "performance_profile.png")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
