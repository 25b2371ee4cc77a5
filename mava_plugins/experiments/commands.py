"""The ``mava experiment`` and ``mava report`` subcommands (their arguments and what they do)."""
from __future__ import annotations

import argparse
import os
import sys
from typing import List

from mava_core.errors import MavaError


def _names(text: str) -> List[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _seeds(text: str) -> List[int]:
    try:
        return [int(item) for item in _names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {text!r}") from None


def add_commands(commands) -> None:
    """Add ``experiment`` and ``report`` to the ``mava`` command's subparsers."""
    experiment = commands.add_parser(
        "experiment", help="run a grid of systems x tasks x seeds (resumable), locally or as Ray tasks",
        description="Run every system on every task with every seed into DIR; run it again to resume after an interruption.",
    )
    experiment.add_argument("directory", metavar="DIR", help="the experiment directory (created, or resumed when it exists)")
    experiment.add_argument("--systems", type=_names, help="comma-separated systems, e.g. madqn,vdn")
    experiment.add_argument("--tasks", type=_names, help="comma-separated family:task, e.g. debug:two_step")
    experiment.add_argument("--seeds", type=_seeds, help="comma-separated seeds, e.g. 0,1,2")
    experiment.add_argument("--env-steps", type=int, help="environment step budget of every run")
    experiment.add_argument("--resume", action="store_true", help="continue the experiment saved in DIR (no grid options needed)")
    experiment.add_argument("--backend", choices=("local", "ray"), default="local",
                            help="local: runs one after another in this process; ray: runs in parallel as Ray tasks")
    experiment.add_argument("--ray-address", default=None, metavar="ADDRESS",
                            help="with --backend ray: the cluster to join (head host:port); none starts a local Ray instance")
    experiment.add_argument("--cpus-per-run", type=float, default=1.0, help="with --backend ray: CPUs each run's task asks for")
    experiment.add_argument("overrides", nargs="*", metavar="[SYSTEM:]key=value",
                            help="config overrides of every run, or of one system's runs with a SYSTEM: prefix")

    report = commands.add_parser("report", help="aggregate runs across seeds: IQM, bootstrap intervals, plots",
                                 description="Aggregate finished runs (summary.json) under RUN_DIRS per system and task.")
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIRS", help="experiment or run directories")
    report.add_argument("--out", default=None, help="where report.md, report.json and the PNGs go (default: FIRST_DIR/report)")
    report.add_argument("--bounds", action="append", default=[], metavar="TASK=LOW:HIGH",
                        help="per-agent return bounds that normalise a task's scores (repeatable)")
    report.add_argument("--replicates", type=int, default=2000, help="bootstrap replicates (default 2000)")
    report.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")


def run_experiment(args, plugin_manager=None) -> int:
    from mava_plugins.experiments.grid import Grid, run_grid

    grid_options = (args.systems, args.tasks, args.seeds, args.env_steps)
    if args.resume:
        if any(option is not None for option in grid_options) or args.overrides:
            raise MavaError("--resume takes the grid saved in DIR: give no --systems, --tasks, --seeds, --env-steps or overrides")
        grid = None
    else:
        missing = [flag for flag, value in zip(("--systems", "--tasks", "--seeds", "--env-steps"), grid_options) if value is None]
        if missing:
            raise MavaError(f"a new experiment needs {', '.join(missing)} (or --resume to continue one)")
        grid = Grid(args.systems, args.tasks, args.seeds, args.env_steps, list(args.overrides))
    if args.backend != "ray" and (args.ray_address is not None):
        raise MavaError("--ray-address is only valid with --backend ray")
    ray_options = None
    if args.backend == "ray":
        from mava_plugins.backends.ray_backend import RayOptions

        ray_options = RayOptions(address=args.ray_address)
    finished, failed = run_grid(args.directory, grid, args.backend, ray_options, args.cpus_per_run,
                                report=lambda line: print(line, flush=True), plugin_manager=plugin_manager)
    print(f"{len(finished)} runs finished in {os.path.abspath(args.directory)}; "
          f"`mava report {args.directory}` aggregates them", flush=True)
    for cell, error in failed:
        print(f"failed: {cell.name}: {error}", file=sys.stderr)
    return 1 if failed else 0


def run_report(args) -> int:
    from mava_plugins.experiments.report import build_report, find_runs, parse_bounds

    if args.replicates < 1:
        raise MavaError(f"--replicates must be >= 1, got {args.replicates}")
    records = find_runs(args.run_dirs)
    out = args.out or os.path.join(args.run_dirs[0], "report")
    report = build_report(records, out, parse_bounds(args.bounds), args.replicates, args.seed)
    print(report.table)
    print()
    for path in report.figures + [os.path.join(out, "report.md"), os.path.join(out, "report.json")]:
        print(f"wrote {path}")
    return 0
