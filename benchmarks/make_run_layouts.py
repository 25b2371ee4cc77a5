"""`make run` in its layout against the systems' default layout, whole runs, several seeds.

Runs the main example (``examples/pettingzoo/run_decentralised_feedforward_madqn.py``: MADQN on
simple_spread_v3, Launchpad, two executors, 120,000 env steps, 20 evaluation episodes every
12,000 steps) once per seed and layout, the layouts interleaved seed by seed so both meet the
same machine:

* ``make_run``: the example as it is (8 environment copies per executor, so replay blocks of
  8 transitions; batches of 256; the target copied every 50 updates);
* ``defaults``: the same with the systems' defaults for those three settings
  (``run.envs_per_executor=1 dataset.batch_size=64 target_update_period=200``), the layout
  ``make run`` had before.

For each run: its wall time (the example's whole process, launch to exit), the final
evaluation, the mean of the evaluations from 24,000 steps on (nine of 20 episodes each, so
less noisy than the final one alone), when an evaluation first reached -20.0, and whether
the run left its final checkpoint. Writes ``results/make_run_layouts.json`` and ``.md``.

    .venv/bin/python benchmarks/make_run_layouts.py [--seeds 0,1,2] [--run-root DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

from common import machine_facts, write_json, write_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = "examples/pettingzoo/run_decentralised_feedforward_madqn.py"
LAYOUTS: Dict[str, List[str]] = {
    "defaults": ["run.envs_per_executor=1", "dataset.batch_size=64", "target_update_period=200"],
    "make_run": [],
}
THRESHOLD = -20.0
#: evaluations from this many env steps on are averaged
FROM_STEPS = 24_000


def summarise_run(run_dir: str, wall: float, layout: str, seed: int) -> Dict[str, object]:
    """One finished run's figures, from its ``summary.json``, evaluator log and checkpoints."""
    with open(os.path.join(run_dir, "summary.json")) as handle:
        summary = json.load(handle)
    with open(os.path.join(run_dir, "logs", "evaluator.csv")) as handle:
        rows = [(int(row["env_steps"]), float(row["mean_return"]), float(row["wall_time"]))
                for row in csv.DictReader(handle)]
    reached = next(((steps, seconds) for steps, value, seconds in rows if value >= THRESHOLD), None)
    checkpoints = os.path.join(run_dir, "checkpoints")
    return {
        "layout": layout,
        "seed": seed,
        "wall_seconds": wall,
        "env_steps": summary["env_steps"],
        "final_mean_return": summary["final_mean_return"],
        "final_std_return": summary["final_std_return"],
        "random_return": summary.get("random_return"),
        "mean_from_24k": statistics.mean(value for steps, value, _ in rows if steps >= FROM_STEPS),
        "first_at_threshold": None if reached is None else {"env_steps": reached[0], "evaluator_seconds": reached[1]},
        "evaluations": [{"env_steps": steps, "mean_return": value} for steps, value, _ in rows],
        "final_checkpoint": any(name.startswith("ckpt-") for name in os.listdir(checkpoints)),
    }


def measure(layout: str, seed: int, run_root: str) -> Dict[str, object]:
    run_dir = os.path.join(run_root, f"{layout}_s{seed}")
    command = [sys.executable, EXAMPLE, "--seed", str(seed), "--run-dir", run_dir, *LAYOUTS[layout]]
    with open(os.path.join(run_root, f"{layout}_s{seed}.log"), "w") as log:
        started = time.monotonic()
        subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=3600)
        wall = time.monotonic() - started
    return summarise_run(run_dir, wall, layout, seed)


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def write_results(results: List[Dict[str, object]], machine: Dict[str, object]) -> str:
    write_json("make_run_layouts.json", {"machine": machine, "example": EXAMPLE, "layouts": LAYOUTS,
                                         "results": results})
    lines = [
        "# `make run`'s layout against the defaults",
        "",
        f"Machine: {machine['summary']}. `{EXAMPLE}` (MADQN, simple_spread_v3, Launchpad, two executors, "
        "120,000 env steps, 20 evaluation episodes every 12,000 steps), one run per seed and layout, "
        "interleaved seed by seed. *defaults*: `" + " ".join(LAYOUTS["defaults"]) + "`; *make_run*: the example "
        "as it is (8 copies per executor, batches of 256, target every 50 updates). *mean from 24k*: the mean "
        "of the evaluations from 24,000 steps on. *first ≥ −20*: env steps and evaluator seconds of the first "
        "evaluation at or above −20.0.",
        "",
        "| layout | seed | wall | final return | mean from 24k | first ≥ −20 | random policy | final checkpoint |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        first = r["first_at_threshold"]
        reached = "-" if first is None else f"{first['env_steps']:,} ({first['evaluator_seconds']:.0f} s)"
        lines.append(
            f"| {r['layout']} | {r['seed']} | {_minutes(r['wall_seconds'])} | "
            f"{r['final_mean_return']:.2f} ± {r['final_std_return']:.2f} | {r['mean_from_24k']:.2f} | {reached} | "
            f"{r['random_return']:.2f} | {'yes' if r['final_checkpoint'] else 'no'} |"
        )
    lines += ["", "| layout | runs | mean wall | mean final return | mean of the means from 24k |",
              "|---|---|---|---|---|"]
    for layout in LAYOUTS:
        runs = [r for r in results if r["layout"] == layout]
        if runs:
            wall = statistics.mean(r["wall_seconds"] for r in runs)
            lines.append(
                f"| {layout} | {len(runs)} | {_minutes(wall)} | "
                f"{statistics.mean(r['final_mean_return'] for r in runs):.2f} | "
                f"{statistics.mean(r['mean_from_24k'] for r in runs):.2f} |"
            )
    lines += ["", "Regenerate with `.venv/bin/python benchmarks/make_run_layouts.py` (about 45 minutes on 2 cores)."]
    return write_text("make_run_layouts.md", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--run-root", default=None, help="where the runs are kept (default: a new temp dir)")
    args = parser.parse_args()
    run_root = args.run_root or tempfile.mkdtemp(prefix="make_run_layouts_")
    os.makedirs(run_root, exist_ok=True)
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for layout in ("defaults", "make_run"):
            results.append(measure(layout, seed, run_root))
            r = results[-1]
            print(f"{layout} seed {seed}: {r['wall_seconds']:.0f} s, final {r['final_mean_return']:.2f}", flush=True)
    print(write_results(results, machine_facts()))


if __name__ == "__main__":
    main()
