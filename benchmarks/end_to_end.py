"""End-to-end training throughput under Launchpad: env steps/s, updates/s, peak memory per node.

Each system trains at its default config on mpe2 ``simple_spread_v3`` under the Launchpad
backend (one process per node: replay, counter, trainer, N executors, evaluator) for a fixed
budget, with 1, 2 and 4 executors. Rates are steady-state figures read from the run's own CSV
logs (executors' ``env_steps`` and the trainer's ``trainer_steps`` against ``wall_time``,
from the first row after training started to the last), so process start-up and the final
evaluation are excluded; the wall time of the whole run is reported beside them. A sampler
thread reads every node process's resident memory (found by the ``MAVA_NODE_GROUP`` variable
each Launchpad node carries) twice a second and keeps each node's peak.

Off-policy systems are rate-limited by their table (``dataset.samples_per_insert``: sampled
transitions per inserted one), so their env steps/s is tied to the trainer's updates/s by
``updates/s × batch_size / samples_per_insert``; that bound is reported too. Writes
``results/end_to_end.json``, ``.md`` and ``.png``; ``--from-results`` redraws the table and
plot from the committed JSON.

    .venv/bin/python benchmarks/end_to_end.py [--env-steps 20000] [--systems madqn,mappo,qmix] [--executors 1,2,4]
"""
from __future__ import annotations

import argparse
import csv
import os
import tempfile
import threading
import time
import uuid
from typing import Dict, List, Optional, Tuple

from common import machine_facts, new_figure, read_json, save_figure, write_json, write_text

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder
from mava_plugins.backends.launchpad_backend import NODE_GROUP_VARIABLE

ENVIRONMENT = "pettingzoo:simple_spread_v3"
MARKER = "MAVA_BENCHMARK_RUN"


class MemorySampler(threading.Thread):
    """Peak resident memory (MiB) of every process that carries ``MARKER=value``, by node."""

    def __init__(self, value: str, every: float = 0.5):
        super().__init__(daemon=True)
        self.value, self.every = value, every
        self.peaks: Dict[int, float] = {}
        self.cpu_seconds: Dict[int, float] = {}
        self.groups: Dict[int, str] = {}
        self._done = threading.Event()

    def run(self) -> None:
        import psutil

        while not self._done.wait(self.every):
            for process in psutil.process_iter(["pid"]):
                try:
                    environ = process.environ()
                    if environ.get(MARKER) != self.value or NODE_GROUP_VARIABLE not in environ:
                        continue
                    rss = process.memory_info().rss / 2**20
                    times = process.cpu_times()
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                self.cpu_seconds[process.pid] = times.user + times.system  # cumulative: the last reading counts
                self.groups[process.pid] = environ[NODE_GROUP_VARIABLE]
                self.peaks[process.pid] = max(self.peaks.get(process.pid, 0.0), rss)

    def stop(self):
        """Peak MiB per node group (for ``executor``: the largest single executor), and CPU seconds per group."""
        self._done.set()
        self.join()
        peaks: Dict[str, float] = {}
        cpu: Dict[str, float] = {}
        for pid, peak in self.peaks.items():
            group = self.groups[pid]
            peaks[group] = max(peaks.get(group, 0.0), peak)
            cpu[group] = cpu.get(group, 0.0) + self.cpu_seconds.get(pid, 0.0)
        return dict(sorted(peaks.items())), dict(sorted(cpu.items()))


def _rows(path: str) -> List[Dict[str, str]]:
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return list(csv.DictReader(handle))


def _rate(rows: List[Dict[str, str]], key: str, from_env_steps: float) -> float:
    """Growth of ``key`` per second of one log's ``wall_time`` (its own clock), from ``from_env_steps`` on."""
    rows = [
        row for row in rows if float(row.get("env_steps") or 0) >= from_env_steps and row.get(key) not in (None, "")
    ]
    if len(rows) < 2:
        return float("nan")
    first, last = rows[0], rows[-1]
    seconds = float(last["wall_time"]) - float(first["wall_time"])
    return (float(last[key]) - float(first[key])) / seconds if seconds > 0 else float("nan")


#: layouts an end-to-end run can use: (run options, system overrides). ``default``: every
#: setting at its default (one environment copy per executor, one Reverb item per transition,
#: batches of 64). ``copies8``: eight environment copies per executor, so each executor writes
#: blocks of 8 transitions (``dataset.block_size`` 0 picks 8) and makes one policy call per 8
#: env steps. ``copies8_batch256``: that, with batches of 256 at the same samples per insert
#: (a quarter of the updates, each four times larger) and the target copied every 50 updates
#: (the same env steps between copies as 200 updates of 64). ``copies8_batch256_target200``:
#: batches of 256 with the default 200 updates between copies (the same gradient steps between
#: copies as the default layout; QMIX collapsed with ``copies8_batch256`` in one time-to-return run).
#: ``copies8_batch256_conversion`` and ``default_conversion``: those layouts with mpe2 stepped
#: through PettingZoo's parallel conversion (``env.direct_step=false``), as before the direct step.
#: ``..._in_trainer``: those layouts with the replay server inside the trainer's process
#: (``run.backend_options.replay_in_trainer``, Launchpad only); ``copies8_batch256_in_trainer``
#: is ``make run``'s layout.
LAYOUTS: Dict[str, Tuple[Dict[str, object], Dict[str, object]]] = {
    "default": ({}, {}),
    "copies8": ({"envs_per_executor": 8}, {}),
    "copies8_batch256": ({"envs_per_executor": 8}, {"dataset.batch_size": 256, "target_update_period": 50}),
    "copies8_batch256_target200": ({"envs_per_executor": 8}, {"dataset.batch_size": 256}),
    "default_conversion": ({"env_options": {"direct_step": False}}, {}),
    "copies8_batch256_conversion": (
        {"envs_per_executor": 8, "env_options": {"direct_step": False}},
        {"dataset.batch_size": 256, "target_update_period": 50},
    ),
}
IN_TRAINER = {"backend_options": {"replay_in_trainer": True}}
LAYOUTS.update({
    "copies8_batch256_in_trainer": ({**LAYOUTS["copies8_batch256"][0], **IN_TRAINER}, LAYOUTS["copies8_batch256"][1]),
    "copies8_batch256_target200_in_trainer": (
        {**LAYOUTS["copies8_batch256_target200"][0], **IN_TRAINER}, LAYOUTS["copies8_batch256_target200"][1]
    ),
})


def measure(
    system: str,
    executors: int,
    env_steps: int,
    layout: str = "default",
    backend: str = "launchpad",
    backend_options: Optional[Dict[str, object]] = None,
    run_dir: Optional[str] = None,
) -> Dict[str, object]:
    """One training run's steady-state rates (``backend_options``: ``run.backend_options``; ``run_dir``: a temp dir)."""
    run_dir = run_dir or tempfile.mkdtemp(prefix=f"e2e_{system}_{executors}_")
    run_options, overrides = LAYOUTS[layout]
    run_options = dict(run_options)
    backend_options = {**run_options.pop("backend_options", {}), **(backend_options or {})}
    if system == "mappo":  # an on-policy system has no replay batches or target network to adjust
        overrides = {}
    run = RunConfig(
        system=system,
        environment=ENVIRONMENT,
        backend=backend,
        backend_options=backend_options,
        executors=executors,
        env_steps=env_steps,
        **run_options,
        seed=0,
        eval_every=env_steps,
        eval_episodes=2,
        random_baseline_episodes=0,
        loggers=("csv",),
        log_every_seconds=1.0,
        run_dir=run_dir,
        checkpoint=False,
    )
    builder = SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager())
    marker = uuid.uuid4().hex
    os.environ[MARKER] = marker
    sampler = MemorySampler(marker)
    sampler.start()
    started = time.time()
    try:
        summary = builder.launch()
    finally:
        wall = time.time() - started
        peaks, cpu_seconds = sampler.stop()
        os.environ.pop(MARKER, None)
    logs = os.path.join(run_dir, "logs")
    trainer_rows = _rows(os.path.join(logs, "trainer.csv"))
    # steady state: from the run's step count when the trainer logged its first step; every
    # executor's log sees the run's counter grow, each against its own clock
    training_from = float(trainer_rows[0]["env_steps"]) if trainer_rows else 0.0
    executor_rates = [
        _rate(_rows(os.path.join(logs, f"executor_{i}.csv")), "env_steps", training_from) for i in range(executors)
    ]
    executor_rates = [rate for rate in executor_rates if rate == rate]  # drop NaN (too few rows)
    dataset = builder.dataset.config
    updates = _rate(trainer_rows, "trainer_steps", training_from)
    spi = getattr(dataset, "samples_per_insert", None)
    return {
        "system": system,
        "executors": executors,
        "layout": layout,
        "env_steps": summary["env_steps"],
        "trainer_steps": summary["trainer_steps"],
        "wall_seconds": wall,
        "env_steps_per_second": sum(executor_rates) / len(executor_rates) if executor_rates else float("nan"),
        "updates_per_second": updates,
        "rate_limit_env_steps_per_second": updates * dataset.batch_size / spi if spi else None,
        "peak_memory_mib": peaks,
        "cores_used": {group: seconds / wall for group, seconds in cpu_seconds.items()},
        "final_mean_return": summary["final_mean_return"],
    }


#: the end-to-end target: MADQN on 2 cores at this many env steps/s
TARGET_ENV_STEPS_PER_SECOND = 1_000


def plot(results, machine) -> None:
    """Env steps/s and updates/s against the executor count, one line per system and layout."""
    made = new_figure(2)
    if made is None:
        return
    figure, (steps, updates) = made
    for system, layout in dict.fromkeys((r["system"], r.get("layout", "default")) for r in results):
        rows = sorted((r for r in results if (r["system"], r.get("layout", "default")) == (system, layout)),
                      key=lambda r: r["executors"])
        executors = [r["executors"] for r in rows]
        label = system if layout == "default" else f"{system}, {layout}"
        steps.plot(executors, [r["env_steps_per_second"] for r in rows], marker="o", label=label)
        updates.plot(executors, [r["updates_per_second"] for r in rows], marker="o", label=label)
    steps.axhline(TARGET_ENV_STEPS_PER_SECOND, color="black", linestyle="--", label="target (MADQN)")
    for axis, label in ((steps, "env steps/s"), (updates, "trainer updates/s")):
        axis.set_xlabel("executors")
        axis.set_ylabel(label)
        axis.set_xticks(sorted({r["executors"] for r in results}))
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=8)
    steps.set_title("End to end under Launchpad")
    save_figure(figure, "end_to_end.png", machine)


def write_results(results, machine, env_steps: int, raw_rate: Optional[float] = None) -> str:
    write_json(
        "end_to_end.json",
        {"machine": machine, "environment": ENVIRONMENT, "env_steps": env_steps, "raw_env_steps_per_second": raw_rate,
         "results": results},
    )
    plot(results, machine)
    lines = [
        "# End-to-end training throughput (Launchpad)",
        "",
        f"Machine: {machine['summary']}. {ENVIRONMENT}, default configs, {env_steps} env steps per run, "
        "Launchpad backend (replay, counter, trainer, N executors and the evaluator each in its own process). "
        "Steady-state rates from the run's logs (each against its own clock) from the first trainer step on; "
        "*wall* is the whole run "
        "(start-up, training, final evaluation). *rate bound*: `updates/s × batch_size / samples_per_insert`, "
        "the env steps/s an off-policy table's rate limiter allows at the trainer's speed. Peak resident "
        "memory per node process in MiB (executor: the largest one). *cores used*: each node group's CPU time "
        "(user + system, executors summed) over the run's wall time. Layouts (`LAYOUTS` in the script): "
        "`default`, every setting at its default; `copies8`, 8 environment copies per executor (blocks of 8 "
        "transitions per Reverb item); `copies8_batch256`, that with batches of 256 at the same samples per insert "
        "and the target copied every 50 updates; `default_conversion` and `copies8_batch256_conversion`, those with "
        "mpe2 stepped through PettingZoo's parallel conversion (`env.direct_step=false`), as before the direct step."
        + ("" if raw_rate is None else
           f" The raw environment (mpe2 alone, one process, measured in the same benchmark run before the "
           f"training runs) made {raw_rate:.0f} steps/s; *share of raw* is each run's env steps/s over it."),
        "",
        "| system | layout | executors | env steps/s | updates/s | rate bound | wall s "
        "| peak MiB: trainer / executor / replay / evaluator "
        "| cores used: trainer / executors / replay / evaluator | share of raw |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups = ("trainer", "executor", "replay", "evaluator")
    for r in results:
        peaks, cores = r["peak_memory_mib"], r["cores_used"]
        memory = " / ".join(f"{peaks.get(group, float('nan')):.0f}" for group in groups)
        used = " / ".join(f"{cores.get(group, float('nan')):.2f}" for group in groups)
        bound = r["rate_limit_env_steps_per_second"]
        share = "-" if not raw_rate else f"{r['env_steps_per_second'] / raw_rate:.0%}"
        lines.append(
            f"| {r['system']} | {r.get('layout', 'default')} | {r['executors']} | {r['env_steps_per_second']:.0f} | "
            f"{r['updates_per_second']:.1f} | "
            f"{'-' if bound is None else f'{bound:.0f}'} | {r['wall_seconds']:.0f} | {memory} | {used} | "
            f"{share} |"
        )
    lines += [
        "",
        "![end-to-end throughput](end_to_end.png)",
        "",
        "Target: MADQN at least 1,000 env steps/s on 2 cores. "
        "Regenerate with `.venv/bin/python benchmarks/end_to_end.py`.",
    ]
    return write_text("end_to_end.md", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-steps", type=int, default=20_000)
    parser.add_argument("--systems", default="madqn,mappo,qmix")
    parser.add_argument("--executors", default="1,2,4")
    parser.add_argument("--layouts", default="default", help=f"comma-separated, of {', '.join(LAYOUTS)}")
    parser.add_argument("--from-results", action="store_true", help="redraw the table and plot from the committed JSON")
    args = parser.parse_args()
    if args.from_results:
        record = read_json("end_to_end.json")
        print(write_results(record["results"], record["machine"], record["env_steps"],
                            record.get("raw_env_steps_per_second")))
        return
    from acting_throughput import raw_steps_per_second

    raw_rate = max(raw_steps_per_second(6000, seed) for seed in range(3))  # the raw environment, this machine, now
    print(f"raw environment: {raw_rate:.0f} steps/s", flush=True)
    results = []
    for system in args.systems.split(","):
        for executors in (int(n) for n in args.executors.split(",")):
            for layout in args.layouts.split(","):
                results.append(measure(system, executors, args.env_steps, layout))
                r = results[-1]
                print(
                    f"{system} x{executors} {layout}: {r['env_steps_per_second']:.0f} env steps/s, "
                    f"{r['updates_per_second']:.1f} updates/s",
                    flush=True,
                )
    print(write_results(results, machine_facts(), args.env_steps, raw_rate))


if __name__ == "__main__":
    main()
