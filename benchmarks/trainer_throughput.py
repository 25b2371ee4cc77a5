"""Trainer throughput: updates/s, samples/s and the data-wait fraction of every system.

For each system at its default config (default batch size) on mpe2 ``simple_spread_v3``: an
executor fills an in-process Reverb server until training may start (off-policy: the
table's ``min_size``; on-policy: ``max_size`` fresh sequences), then the system's trainer —
the compiled training step on the prefetched Reverb dataset, as in a run — takes steps
that are timed after a few warm-up steps (tracing and compilation excluded). The executor
stops before timing, so the trainer has the process (and both cores) to itself.

*data-wait fraction*: the share of the trainer's step time spent in ``next(iterator)``
waiting for a batch (``trainer.data_wait_seconds / trainer.step_seconds``, what every
trainer reports as ``data_wait_fraction``). Writes ``results/trainer_throughput.json``, ``.md``
and ``.png``; ``--from-results`` redraws the table and plot from the committed JSON.

    .venv/bin/python benchmarks/trainer_throughput.py [--steps 300] [--systems madqn,qmix]
"""
from __future__ import annotations

import argparse
import time

from common import machine_facts, new_figure, read_json, save_figure, write_json, write_text

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder

ENVIRONMENT = "pettingzoo:simple_spread_v3"
SYSTEMS = ("madqn", "recurrent_madqn", "vdn", "qmix", "recurrent_vdn", "recurrent_qmix", "maddpg", "mad4pg", "mappo")
#: variants of a system's default layout, ``system:variant``: (run options, system overrides).
#: ``blocks8``: the table holds blocks of 8 transitions (what executors stepping 8 environment
#: copies write), so a batch of 64 is 8 sampled items; ``batch256``: batches of 256;
#: ``blocks8_batch256``: both.
VARIANTS = {
    "blocks8": ({"envs_per_executor": 8}, {}),
    "batch256": ({}, {"dataset.batch_size": 256}),
    "blocks8_batch256": ({"envs_per_executor": 8}, {"dataset.batch_size": 256}),
}
DEFAULT_RUNS = SYSTEMS + ("madqn:blocks8", "madqn:batch256", "madqn:blocks8_batch256", "qmix:blocks8_batch256")
WARM_UP = 5
#: mappo's queue is drained by training; fill it with this many batches of fresh sequences
ON_POLICY_BATCHES = 12


def _builder(name: str) -> SystemBuilder:
    system, _, variant = name.partition(":")
    run_options, overrides = VARIANTS[variant] if variant else ({}, {})
    run = RunConfig(system=system, environment=ENVIRONMENT, seed=0, loggers=(), run_dir=None, **run_options)
    builder = SystemBuilder(run, overrides=overrides, plugin_manager=PluginManager())
    dataset = builder.dataset.config
    if getattr(builder.dataset, "on_policy", False):
        builder = SystemBuilder(run, overrides={"dataset.max_size": dataset.batch_size * ON_POLICY_BATCHES},
                                plugin_manager=PluginManager())
    return builder


def _items_needed(builder: SystemBuilder) -> int:
    dataset = builder.dataset.config
    if getattr(builder.dataset, "on_policy", False):
        return dataset.max_size
    block = builder.dataset.block(builder) if hasattr(builder.dataset, "block") else 1
    return -(-(max(dataset.min_size, dataset.batch_size) + dataset.batch_size) // block)  # items of `block` transitions


def _fill(builder: SystemBuilder, address: str) -> int:
    """Act until the table holds what training needs; returns the environment steps taken."""
    import reverb

    client = reverb.Client(address)
    needed = _items_needed(builder)
    loop, _ = builder.make_executor(0, address, None)
    while True:
        for _ in range(100):
            loop.step_batch()
        if min(info.current_size for info in client.server_info().values()) >= needed:
            break
    steps = loop.steps
    loop.close()
    return steps


def measure_system(system: str, steps: int):
    import reverb

    builder = _builder(system)
    server = reverb.Server(builder.make_replay_tables(), port=None)
    address = f"localhost:{server.port}"
    try:
        filled = _fill(builder, address)
        trainer = builder.make_trainer(address)
        dataset = builder.dataset.config
        on_policy = getattr(builder.dataset, "on_policy", False)
        if on_policy:  # every update of the queued batches, after the first batch's
            steps = (ON_POLICY_BATCHES - 1) * builder.dataset.updates_per_batch
            warm_up = builder.dataset.updates_per_batch
        else:
            warm_up = WARM_UP
        for _ in range(warm_up):
            trainer.step()
        trainer.data_wait_seconds = trainer.step_seconds = 0.0
        started = time.perf_counter()
        for _ in range(steps):
            trainer.step()
        elapsed = time.perf_counter() - started
        # the dataset alone: how fast the prefetched Reverb pipeline delivers batches with no training step
        batches = 0 if on_policy else steps
        started_alone = time.perf_counter()
        for _ in range(batches):
            next(trainer.iterator)
        alone = batches / (time.perf_counter() - started_alone) if batches else None
    finally:
        server.stop()
    sequence = getattr(dataset, "sequence_length", None)
    batch = dataset.batch_size // (dataset.minibatches if on_policy else 1)  # items in one update's batch
    block = builder.dataset.block(builder) if hasattr(builder.dataset, "block") else 1
    return {
        "system": system,
        "dataset": builder.system_config.dataset.name + (f", blocks of {block}" if block > 1 else ""),
        "batch": batch,
        "item": f"sequence of {sequence} steps" if sequence else "transition",
        "steps_filled": filled,
        "updates_timed": steps,
        "updates_per_second": steps / elapsed,
        "items_per_second": steps * batch / elapsed,
        "agent_steps_per_second": steps * batch * (sequence or 1) / elapsed,
        "data_wait_fraction": trainer.data_wait_seconds / max(trainer.step_seconds, 1e-9),
        "dataset_alone_batches_per_second": alone,
    }


#: the trainer target: the share of step time spent waiting for data stays below this
TARGET_DATA_WAIT = 0.10


def plot(results, machine) -> None:
    """Updates/s and the data-wait fraction of each system, the latter against the target."""
    made = new_figure(2)
    if made is None:
        return
    figure, (updates, wait) = made
    systems = [r["system"] for r in results][::-1]
    updates.barh(systems, [r["updates_per_second"] for r in results][::-1])
    updates.set_xlabel("updates/s (default batch size)")
    updates.set_title("Trainer throughput")
    wait.barh(systems, [100 * r["data_wait_fraction"] for r in results][::-1], color="tab:orange")
    wait.axvline(100 * TARGET_DATA_WAIT, color="black", linestyle="--", label=f"target: below {TARGET_DATA_WAIT:.0%}")
    wait.set_xlabel("% of step time waiting for data")
    wait.set_title("Data wait")
    wait.legend(fontsize=8)
    save_figure(figure, "trainer_throughput.png", machine)


def write_results(results, machine) -> str:
    write_json("trainer_throughput.json", {"machine": machine, "environment": ENVIRONMENT, "results": results})
    plot(results, machine)
    lines = [
        "# Trainer throughput",
        "",
        f"Machine: {machine['summary']}. {ENVIRONMENT} (3 agents), each system's default config and batch "
        "size (`system:variant` rows change one layout setting: `blocks8`, blocks of 8 transitions per Reverb "
        "item, as 8 environment copies per executor write them; `batch256`, batches of 256); the compiled "
        "training step on the prefetched Reverb dataset of an in-process server, "
        "timed after warm-up with nothing else running. *samples/s*: batch items (transitions or sequences) "
        "consumed per second; *steps/s*: the environment steps those items span. *data wait*: share of "
        "step time spent waiting for the next batch. *dataset alone*: batches/s the same prefetched pipeline "
        "delivers when nothing trains (off-policy tables; mappo's queue is drained by training).",
        "",
        "| system | dataset | batch | updates/s | samples/s | steps/s in batches | data wait "
        "| dataset alone: batches/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        alone = r["dataset_alone_batches_per_second"]
        lines.append(
            f"| {r['system']} | {r['dataset']} | {r['batch']} × {r['item']} | {r['updates_per_second']:.1f} | "
            f"{r['items_per_second']:.0f} | {r['agent_steps_per_second']:.0f} | {r['data_wait_fraction']:.1%} | "
            f"{'-' if alone is None else f'{alone:.0f}'} |"
        )
    lines += [
        "",
        "![trainer throughput](trainer_throughput.png)",
        "",
        "Target: data wait below 10%. Regenerate with `.venv/bin/python benchmarks/trainer_throughput.py`.",
    ]
    return write_text("trainer_throughput.md", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="timed updates per off-policy system")
    parser.add_argument("--systems", default=",".join(DEFAULT_RUNS), help="SYSTEM or SYSTEM:VARIANT, comma-separated")
    parser.add_argument("--from-results", action="store_true", help="redraw the table and plot from the committed JSON")
    args = parser.parse_args()
    if args.from_results:
        record = read_json("trainer_throughput.json")
        print(write_results(record["results"], record["machine"]))
        return
    results = []
    for system in args.systems.split(","):
        results.append(measure_system(system, args.steps))
        print(f"{system}: {results[-1]['updates_per_second']:.1f} updates/s", flush=True)
    print(write_results(results, machine_facts()))


if __name__ == "__main__":
    main()
