"""Time to return: wall-clock seconds from launch until the evaluation return first reaches a threshold.

The figure a user cares about: how long until a system is good. Each run trains on mpe2
``simple_spread_v3`` for a wall-clock budget (``run.max_seconds``), evaluating every
``--eval-every`` env steps. A watcher thread notes the wall time (from launch) at which each
evaluation row appears in the run's ``logs/evaluator.csv``: that is when a user would see it.
From those rows the script reports

* the seconds until the mean per-agent evaluation return first reaches ``--threshold``
  (−20.0 by default; ``-`` when a run never does within its budget);
* the return of the last evaluation reported by 60, 180 and 600 s (those within the budget).

Every layout runs in the same invocation, interleaved seed by seed, so the ratio between
layouts holds on a noisy machine. ``default`` is the configuration every setting has by
default (``make run``'s layout: one environment copy per executor, one Reverb item per
transition, batches of 64). The other layouts are those of ``benchmarks/end_to_end.py``.
Writes ``results/time_to_return.json``, ``.md`` and ``.png``; ``--from-results`` redraws them
from the committed JSON.

    .venv/bin/python benchmarks/time_to_return.py [--systems madqn,qmix,mappo] [--backends launchpad,local]
        [--layouts default,copies8_batch256] [--seeds 0,1,2] [--seconds 600]
"""
from __future__ import annotations

import argparse
import csv
import os
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

from common import machine_facts, new_figure, read_json, save_figure, write_json, write_text
from end_to_end import LAYOUTS

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder

ENVIRONMENT = "pettingzoo:simple_spread_v3"
BUDGETS = (60, 180, 600)


class EvaluationWatcher(threading.Thread):
    """Notes the wall-clock second (from its start) at which each new row of a CSV log appears."""

    def __init__(self, path: str, every: float = 0.25):
        super().__init__(daemon=True)
        self.path, self.every = path, every
        self.started = time.monotonic()
        self.seen: List[float] = []  # seconds from launch at which row i was first seen
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            self._poll()

    def _poll(self) -> None:
        rows = _rows(self.path)
        while len(self.seen) < len(rows):
            self.seen.append(time.monotonic() - self.started)

    def stop(self) -> List[float]:
        self._done.set()
        self.join()
        self._poll()
        return self.seen


def _rows(path: str) -> List[Dict[str, str]]:
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return list(csv.DictReader(handle))


def run_once(system: str, backend: str, layout: str, seed: int, seconds: float, eval_every: int,
             eval_episodes: int, executors: int) -> Dict[str, Any]:
    """One run for ``seconds`` of wall clock; its evaluations with the second each was reported."""
    run_dir = tempfile.mkdtemp(prefix=f"ttr_{system}_{backend}_{layout}_{seed}_")
    run_options, overrides = LAYOUTS[layout]
    if backend != "launchpad":  # backend options (replay in the trainer's process) are Launchpad's
        run_options = {key: value for key, value in run_options.items() if key != "backend_options"}
    if system == "mappo":  # on-policy: no replay batches or target network to adjust
        overrides = {}
    run = RunConfig(
        system=system,
        environment=ENVIRONMENT,
        backend=backend,
        executors=executors,
        env_steps=10_000_000,  # the wall-clock budget ends the run
        max_seconds=seconds,
        seed=seed,
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        random_baseline_episodes=0,
        loggers=("csv",),
        run_dir=run_dir,
        checkpoint=False,
        env_wrappers=("agent_id",),
        **run_options,
    )
    builder = SystemBuilder(run, overrides={"exploration.decay_steps": 30_000, "dataset.min_size": 2_000, **overrides}
                            if system != "mappo" else overrides, plugin_manager=PluginManager())
    watcher = EvaluationWatcher(os.path.join(run_dir, "logs", "evaluator.csv"))
    watcher.start()
    try:
        summary = builder.launch()
    finally:
        seen = watcher.stop()
    rows = _rows(os.path.join(run_dir, "logs", "evaluator.csv"))
    evaluations = [
        {"seconds": seen[i] if i < len(seen) else float("nan"), "env_steps": int(float(row["env_steps"])),
         "mean_return": float(row["mean_return"])}
        for i, row in enumerate(rows)
    ]
    return {"system": system, "backend": backend, "layout": layout, "seed": seed, "budget_seconds": seconds,
            "env_steps": summary["env_steps"], "evaluations": evaluations}


def seconds_to(evaluations: List[Dict[str, float]], threshold: float) -> Optional[float]:
    """When the first evaluation at or above ``threshold`` was reported (None: never)."""
    return next((e["seconds"] for e in evaluations if e["mean_return"] >= threshold), None)


def return_by(evaluations: List[Dict[str, float]], seconds: float) -> Optional[float]:
    """The return of the last evaluation reported by ``seconds`` (None: none yet)."""
    reported = [e for e in evaluations if e["seconds"] <= seconds]
    return reported[-1]["mean_return"] if reported else None


def plot(runs: List[Dict[str, Any]], threshold: float, machine: Dict[str, Any]) -> None:
    """Evaluation return against wall-clock seconds, one panel per system and backend, a colour per layout."""
    panels = list(dict.fromkeys((r["system"], r["backend"]) for r in runs))
    made = new_figure(len(panels))
    if made is None:
        return
    figure, axes = made
    colours = {layout: f"C{i}" for i, layout in enumerate(dict.fromkeys(r["layout"] for r in runs))}
    for axis, (system, backend) in zip(axes, panels):
        labelled = set()
        for r in runs:
            if (r["system"], r["backend"]) != (system, backend):
                continue
            label = r["layout"] if r["layout"] not in labelled else None
            labelled.add(r["layout"])
            axis.plot([e["seconds"] for e in r["evaluations"]], [e["mean_return"] for e in r["evaluations"]],
                      marker=".", color=colours[r["layout"]], alpha=0.8, label=label)
        axis.axhline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold}")
        axis.set_title(f"{system}, {backend}")
        axis.set_xlabel("wall-clock seconds from launch")
        axis.set_ylabel("mean per-agent evaluation return")
        axis.legend(fontsize=8)
    save_figure(figure, "time_to_return.png", machine)


def write_results(record: Dict[str, Any]) -> str:
    write_json("time_to_return.json", record)
    runs, threshold, machine = record["runs"], record["threshold"], record["machine"]
    executors, eval_every, eval_episodes = record["executors"], record["eval_every"], record["eval_episodes"]
    plot(runs, threshold, machine)
    budget = max(r["budget_seconds"] for r in runs)
    budgets = [b for b in BUDGETS if b <= budget]
    lines = [
        "# Time to return",
        "",
        f"Machine: {machine['summary']}. {ENVIRONMENT} with the `agent_id` wrapper, `make run`'s exploration "
        f"(30,000 decay steps) and `dataset.min_size` 2,000; each run has {budget:.0f} s of wall clock "
        f"(`run.max_seconds`), {executors} executors, and is evaluated every {eval_every} env steps "
        f"({eval_episodes} episodes). *seconds to threshold*: from launch until the first evaluation whose "
        f"mean per-agent return is at least {threshold} was reported (`-`: not within the budget). "
        "*return by N s*: the last evaluation "
        "reported by then. Layouts (see `benchmarks/end_to_end.py`): `default`, every setting at its default; "
        "`copies8`, 8 environment copies per executor (blocks of 8 transitions); `copies8_batch256`, that with "
        "batches of 256 at the same samples per insert and the target copied every 50 updates; "
        "`copies8_batch256_target200`, batches of 256 with the default 200 updates between target copies; "
        "`default_conversion`, the defaults with mpe2 stepped through PettingZoo's parallel conversion "
        "(`env.direct_step=false`), as when the throughput issue was filed. "
        "*last return*: the run's last evaluation.",
        "",
        "| system | backend | layout | seed | env steps | seconds to threshold | "
        + " | ".join(f"return by {b} s" for b in budgets) + " | last return |",
        "|---|---|---|---|---|---|" + "---|" * (len(budgets) + 1),
    ]
    for r in runs:
        reached = seconds_to(r["evaluations"], threshold)
        by = [return_by(r["evaluations"], b) for b in budgets]
        lines.append(
            f"| {r['system']} | {r['backend']} | {r['layout']} | {r['seed']} | {r['env_steps']} | "
            f"{'-' if reached is None else f'{reached:.0f}'} | "
            + " | ".join("-" if v is None else f"{v:.2f}" for v in by)
            + f" | {r['evaluations'][-1]['mean_return']:.2f} |"
        )
    lines += ["", "![time to return](time_to_return.png)", "",
              "Regenerate with `.venv/bin/python benchmarks/time_to_return.py`."]
    return write_text("time_to_return.md", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default="madqn,qmix,mappo")
    parser.add_argument("--backends", default="launchpad,local")
    parser.add_argument("--layouts", default="default,copies8_batch256")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--threshold", type=float, default=-20.0)
    parser.add_argument("--eval-every", type=int, default=4_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--executors", type=int, default=2)
    parser.add_argument("--from-results", action="store_true", help="redraw the table and plot from the committed JSON")
    parser.add_argument(
        "--append", action="store_true",
        help="add these runs to the committed results (a run of the same system, backend, layout and seed is replaced)",
    )
    args = parser.parse_args()
    if args.from_results:
        print(write_results(read_json("time_to_return.json")))
        return
    settings = {"environment": ENVIRONMENT, "threshold": args.threshold, "executors": args.executors,
                "eval_every": args.eval_every, "eval_episodes": args.eval_episodes}
    runs = _committed_runs(settings) if args.append else []
    for seed in (int(s) for s in args.seeds.split(",")):
        for system in args.systems.split(","):
            for backend in args.backends.split(","):
                for layout in args.layouts.split(","):  # interleaved: every layout sees the same machine state
                    run = run_once(system, backend, layout, seed, args.seconds, args.eval_every, args.eval_episodes,
                                   args.executors)
                    runs = [r for r in runs if _key(r) != _key(run)] + [run]
                    reached = seconds_to(run["evaluations"], args.threshold)
                    print(f"{system} {backend} {layout} seed {seed}: {run['env_steps']} env steps, "
                          f"threshold at {reached if reached is None else round(reached)} s", flush=True)
    print(write_results({"machine": machine_facts(), **settings, "runs": runs}))


def _key(run: Dict[str, Any]) -> tuple:
    return run["system"], run["backend"], run["layout"], run["seed"]


def _committed_runs(settings: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The committed runs ``--append`` adds to; refused when they were measured with other settings."""
    record = read_json("time_to_return.json")
    differ = {name: (record.get(name), value) for name, value in settings.items() if record.get(name) != value}
    if differ:
        raise SystemExit(f"--append: the committed results were measured with other settings (committed, now): "
                         f"{differ}")
    return list(record["runs"])


if __name__ == "__main__":
    main()
