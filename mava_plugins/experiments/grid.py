"""A grid of runs, systems x tasks x seeds, in one experiment directory, run to completion across interruptions.

``EXPERIMENT_DIR/experiment.json`` holds the grid; every run has its own run directory
``EXPERIMENT_DIR/<system>/<family>-<task>/seed_<seed>``. A run is *finished* when its
``summary.json`` is complete and counts the grid's step budget; launching the grid again
(after Ctrl-C, a killed process or a lost machine) skips finished runs, resumes the others
from their latest checkpoint (``mava run --resume``) and starts again those that saved none.

Runs go one after another in this process (``backend="local"`` for the grid), or as Ray
tasks, in parallel, on a local Ray instance or a cluster (the Ray backend's ``address``, i.e.
``--ray-address``); each run itself uses the local backend inside its task.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from mava_core.errors import MavaError

EXPERIMENT_FILE = "experiment.json"
FORMAT = 1
FINISHED, RESUMABLE, NEW = "finished", "resumable", "new"


@dataclasses.dataclass
class Grid:
    """Systems x tasks x seeds at one step budget; ``overrides`` are ``key=value`` strings.

    An override ``SYSTEM:key=value`` applies to that system's runs only, any other to all runs.
    """

    systems: List[str]
    tasks: List[str]
    seeds: List[int]
    env_steps: int
    overrides: List[str] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        for name, values in (("systems", self.systems), ("tasks", self.tasks), ("seeds", self.seeds)):
            if not values:
                raise MavaError(f"an experiment needs at least one of {name}")
            if len(set(values)) != len(values):
                raise MavaError(f"{name} of an experiment must not repeat, got {values}")
        for task in self.tasks:
            if ":" not in task:
                raise MavaError(f"task {task!r} must be family:task (see `mava envs`)")
        if self.env_steps < 1:
            raise MavaError(f"env_steps must be >= 1, got {self.env_steps}")
        for item in self.overrides:
            if "=" not in item:
                raise MavaError(f"override {item!r} must be key=value or SYSTEM:key=value")
            prefix = self._prefix(item)
            if prefix is not None and prefix not in self.systems:
                raise MavaError(f"override {item!r} names system {prefix!r}, which is not in the grid ({', '.join(self.systems)})")

    @staticmethod
    def _prefix(item: str) -> Optional[str]:
        key = item.split("=", 1)[0]
        return key.split(":", 1)[0] if ":" in key else None

    def overrides_for(self, system: str) -> List[str]:
        """The ``key=value`` overrides of one system's runs, in the order given."""
        result = []
        for item in self.overrides:
            prefix = self._prefix(item)
            if prefix is None:
                result.append(item)
            elif prefix == system:
                result.append(item.split(":", 1)[1])
        return result

    def cells(self, root: str) -> List["Cell"]:
        return [Cell(s, t, seed, run_dir(root, s, t, seed)) for s in self.systems for t in self.tasks for seed in self.seeds]

    def to_json(self) -> Dict[str, Any]:
        return {"format": FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Grid":
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclasses.dataclass
class Cell:
    """One run of the grid."""

    system: str
    task: str
    seed: int
    run_dir: str

    @property
    def name(self) -> str:
        return f"{self.system} on {self.task}, seed {self.seed}"


def run_dir(root: str, system: str, task: str, seed: int) -> str:
    return os.path.join(root, system, task.replace(":", "-"), f"seed_{seed}")


# ---------------------------------------------------------------- the experiment directory
def prepare(root: str, grid: Optional[Grid]) -> Grid:
    """Write ``experiment.json`` for a new experiment, or check ``grid`` against the one saved (None: use it)."""
    path = os.path.join(root, EXPERIMENT_FILE)
    saved = None
    if os.path.exists(path):
        try:
            with open(path) as handle:
                saved = Grid.from_json(json.load(handle))
        except (OSError, ValueError, TypeError) as error:
            raise MavaError(f"{path} is not a readable experiment file: {error}") from None
    if grid is None:
        if saved is None:
            raise MavaError(f"{root} holds no experiment ({EXPERIMENT_FILE} is missing)")
        return saved
    if saved is not None and saved != grid:
        raise MavaError(f"{root} holds a different experiment ({path}); resume it with `mava experiment --resume {root}` "
                        "or choose another directory")
    os.makedirs(root, exist_ok=True)
    partial = f"{path}.partial"
    with open(partial, "w") as handle:
        json.dump(grid.to_json(), handle, indent=2)
    os.replace(partial, path)
    return grid


def read_summary(directory: str) -> Optional[Dict[str, Any]]:
    """A run's complete ``summary.json``, or None (missing, or cut short by a kill while it was written)."""
    try:
        with open(os.path.join(directory, "summary.json")) as handle:
            summary = json.load(handle)
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) and "final_mean_return" in summary else None


def status(cell: Cell, env_steps: int) -> str:
    """``finished``, ``resumable`` (it saved a checkpoint) or ``new`` (nothing to keep)."""
    summary = read_summary(cell.run_dir)
    if summary is not None and int(summary.get("env_steps", 0)) >= env_steps:
        return FINISHED
    if os.path.exists(os.path.join(cell.run_dir, "checkpoints", "checkpoint.json")):
        return RESUMABLE
    return NEW


def statuses(grid: Grid, root: str) -> Dict[str, List[Cell]]:
    found: Dict[str, List[Cell]] = {FINISHED: [], RESUMABLE: [], NEW: []}
    for cell in grid.cells(root):
        found[status(cell, grid.env_steps)].append(cell)
    return found


# ------------------------------------------------------------------------- one run
def run_cell(grid_data: Dict[str, Any], cell_data: Dict[str, Any], plugin_manager: Any = None) -> Dict[str, Any]:
    """Run (or resume) one cell to the grid's budget on the local backend; returns its summary.

    Plain dicts in and out, so it runs the same in this process and as a Ray task.
    """
    from mava_core.config import RunConfig
    from mava_core.saved_runs import builder_from_run_dir
    from mava_core.system import SystemBuilder

    grid, cell = Grid.from_json(grid_data), Cell(**cell_data)
    state = status(cell, grid.env_steps)
    if state == FINISHED:
        return read_summary(cell.run_dir)
    if state == RESUMABLE:
        builder = builder_from_run_dir(cell.run_dir, [("run.env_steps", grid.env_steps)], plugin_manager=plugin_manager,
                                       resume=True)
    else:
        if os.path.isdir(cell.run_dir):  # a start that saved nothing: begin again from a clean directory
            shutil.rmtree(cell.run_dir)
        run = RunConfig(system=cell.system, environment=cell.task, backend="local", env_steps=grid.env_steps,
                        seed=cell.seed, run_dir=cell.run_dir, loggers=("csv",))
        builder = SystemBuilder(run, overrides=grid.overrides_for(cell.system), plugin_manager=plugin_manager)
        if builder.run.backend != "local":
            raise MavaError("an experiment's runs use the local backend (run Ray tasks with --backend ray instead of run.backend)")
    return builder.launch()


#: written into a run directory by the Ray task that ran it: the Ray node, its address and the process
RAY_TASK_FILE = "ray_task.json"


def run_cell_as_ray_task(grid_data: Dict[str, Any], cell_data: Dict[str, Any]) -> Dict[str, Any]:
    """:func:`run_cell` inside a Ray task; then notes where it ran in ``RAY_TASK_FILE``."""
    import ray

    summary = run_cell(grid_data, cell_data)
    context = ray.get_runtime_context()
    with open(os.path.join(cell_data["run_dir"], RAY_TASK_FILE), "w") as handle:
        json.dump({"node_id": context.get_node_id(), "gcs_address": context.gcs_address, "pid": os.getpid()}, handle)
    return summary


# ------------------------------------------------------------------- the whole grid
Report = Callable[[str], None]


def run_grid(
    root: str, grid: Optional[Grid] = None, backend: str = "local", ray_options: Any = None, cpus_per_run: float = 1.0,
    report: Report = print, plugin_manager: Any = None,
) -> Tuple[List[Cell], List[Tuple[Cell, str]]]:
    """Run every unfinished cell; returns (cells finished now or before, [(cell, error line)] of failed ones).

    ``backend``: ``local`` (one after another in this process) or ``ray`` (Ray tasks).
    """
    grid = prepare(root, grid)
    found = statuses(grid, root)
    report(f"experiment {os.path.abspath(root)}: {len(grid.cells(root))} runs, {len(found[FINISHED])} finished, "
           f"{len(found[RESUMABLE])} to resume, {len(found[NEW])} to start")
    pending = found[RESUMABLE] + found[NEW]
    if backend == "local":
        return found[FINISHED] + _run_local(grid, pending, report, plugin_manager), []
    if backend == "ray":
        finished, failed = _run_ray(grid, pending, ray_options, cpus_per_run, report)
        return found[FINISHED] + finished, failed
    raise MavaError(f"experiment backend must be local or ray, got {backend!r}")


def _describe(cell: Cell, summary: Dict[str, Any]) -> str:
    return (f"finished: {cell.name}: final mean evaluation return {summary['final_mean_return']:.3f} "
            f"after {summary['env_steps']} env steps ({cell.run_dir})")


def _run_local(grid: Grid, cells: Sequence[Cell], report: Report, plugin_manager: Any) -> List[Cell]:
    done = []
    for index, cell in enumerate(cells):
        report(f"[{index + 1}/{len(cells)}] running {cell.name}")
        summary = run_cell(grid.to_json(), dataclasses.asdict(cell), plugin_manager)
        report(_describe(cell, summary))
        done.append(cell)
    return done


def _run_ray(grid: Grid, cells: Sequence[Cell], options: Any, cpus_per_run: float, report: Report):
    from mava_plugins.backends.ray_backend import RayOptions, _connect, describe_error, import_ray

    ray = import_ray()
    options = options or RayOptions()
    connected_here = not ray.is_initialized()
    if connected_here:
        _connect(ray, options)
    task = ray.remote(run_cell_as_ray_task).options(num_cpus=cpus_per_run, max_retries=0)
    # run directories are absolute: tasks may run in another working directory (or machine: use a shared filesystem)
    cells = [dataclasses.replace(c, run_dir=os.path.abspath(c.run_dir)) for c in cells]
    pending = {task.remote(grid.to_json(), dataclasses.asdict(cell)): cell for cell in cells}
    report(f"submitted {len(pending)} runs as Ray tasks ({cpus_per_run} CPU each)")
    finished: List[Cell] = []
    failed: List[Tuple[Cell, str]] = []
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cell = pending.pop(ref)
                try:
                    summary = ray.get(ref)
                except Exception as error:  # a run's failure is reported; the others go on
                    failed.append((cell, describe_error(error)))
                    report(f"failed: {cell.name}: {failed[-1][1]}")
                    continue
                finished.append(cell)
                report(_describe(cell, summary))
    finally:
        for ref in pending:  # interrupted: the unfinished runs stop (their checkpoints stay for the next launch)
            ray.cancel(ref)
        if connected_here:
            ray.shutdown()
    return finished, failed
