"""Acting throughput: raw environment steps/s next to an executor's, for K environment copies.

On one core (the process is pinned to CPU 0, so TensorFlow's threads share it too), in one
process and one run:

* ``raw``: mpe2's ``simple_spread_v3`` parallel environment stepped in a bare loop with
  uniformly random actions (no Mava code at all);
* ``executor K=…``: a MADQN executor (``run.envs_per_executor=K``) acting in K copies of the
  same task through Mava's wrapper, environment loop and hooks, one batched compiled policy
  call for all agents of all copies per step, writing every transition into a Reverb table of
  an in-process server, as under the local backend. Parameter pulls are not included (none is
  configured: under a real run they happen every ``variable_update_period`` steps).
* ``executor K=16, replay server in another process``: the same, but the Reverb server runs
  in a process of its own pinned to the other core, as under Launchpad, where the replay is a
  node of its own: the executor's core then carries only the executor.
* ``executor K=16, global state recorded (as before)``: the same, but the executor asks the
  environment for its global state at every step and stores it in every item, as executors
  did for every system before ``System.reads_state`` (MADQN does not read it).

TensorFlow runs with one intra-op and one inter-op thread, as Launchpad's executors do.

The figure of merit is each executor's steps/s divided by the raw rate. Writes
``results/acting_throughput.json``, ``.md`` and ``.png``; ``--from-results`` redraws the table
and plot from the committed JSON without measuring.

    .venv/bin/python benchmarks/acting_throughput.py [--steps 6000] [--copies 1,4,16] [--repeats 3]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any, Dict, Optional

import numpy as np
from common import machine_facts, new_figure, pin_to_one_core, read_json, save_figure, write_json, write_text

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder

TASK = "simple_spread_v3"
EPISODE = 25


def raw_steps_per_second(steps: int, seed: int) -> float:
    """mpe2's parallel environment alone, random discrete actions from numpy."""
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(max_cycles=EPISODE, continuous_actions=False)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    sizes = {agent: env.action_space(agent).n for agent in env.possible_agents}
    started = time.perf_counter()
    for _ in range(steps):
        if not env.agents:
            env.reset()
        env.step({agent: int(rng.integers(sizes[agent])) for agent in env.agents})
    return steps / (time.perf_counter() - started)


def _timed(obj: Any, name: str, totals: Dict[str, float], bucket: str) -> None:
    """Replace ``obj.name`` by a wrapper that adds its wall time to ``totals[bucket]``."""
    original = getattr(obj, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            totals[bucket] += time.perf_counter() - started

    setattr(obj, name, wrapper)


def _instrument(loop: Any) -> Dict[str, float]:
    """Time the environment, the policy and the Reverb writes of every copy of ``loop``."""
    totals = {"environment": 0.0, "policy": 0.0, "replay writes": 0.0}
    copies = getattr(loop, "loops", [loop])
    for copy in copies:
        _timed(copy.environment, "step", totals, "environment")
        _timed(copy.environment, "reset", totals, "environment")
        _timed(copy.executor.adder, "add", totals, "replay writes")
        _timed(copy.executor.adder, "add_first", totals, "replay writes")
    # the outermost policy call only (one may call the other)
    _timed(
        copies[0].executor.policy, "select_actions" if len(copies) == 1 else "select_actions_batch", totals, "policy"
    )
    return totals


#: variants of the K=16 executor that each change one thing: (name, system overrides, run options)
ABLATIONS = (
    ("executor K=16, one item per transition", {"dataset.block_size": 1}, {}),
    ("executor K=16, per-agent replay layout", {"dataset.stack_agents": False, "dataset.block_size": 1}, {}),
    ("executor K=16, no contract check", {}, {"check_environment": False}),
)


#: the variant whose replay server runs in a process of its own on the other core
SERVER_PROCESS_VARIANT = "executor K=16, replay server in another process"

#: the variant that asks the environment for its global state at every step and stores it in
#: every item, as executors did for every system before ``System.reads_state`` (MADQN reads none)
STATE_VARIANT = "executor K=16, global state recorded (as before)"


def _builder(copies: int, seed: int, overrides: Optional[Dict[str, Any]], run_options: Optional[Dict[str, Any]]):
    run = RunConfig(
        system="madqn",
        environment=f"pettingzoo:{TASK}",
        envs_per_executor=copies,
        seed=seed,
        loggers=(),
        run_dir=None,
        **(run_options or {}),
    )
    return SystemBuilder(
        run, overrides={"dataset.max_size": 100_000, **(overrides or {})}, plugin_manager=PluginManager()
    )


def _serve_replay(connection, copies: int, seed: int, overrides, run_options) -> None:
    """A child process: the builder's Reverb server on core 1, its port sent back, until told to stop."""
    import reverb

    pin_to_one_core(1)
    server = reverb.Server(_builder(copies, seed, overrides, run_options).make_replay_tables(), port=None)
    connection.send(server.port)
    connection.recv()  # anything (or the parent's end closing) ends the server
    server.stop()


class _ReplayServer:
    """A Reverb server in this process, or in a process of its own on the other core."""

    def __init__(self, builder, separate_process: bool, make_args) -> None:
        self._child = self._server = self._connection = None
        if separate_process:
            context = multiprocessing.get_context("spawn")
            self._connection, child_end = context.Pipe()
            self._child = context.Process(target=_serve_replay, args=(child_end, *make_args), daemon=True)
            self._child.start()
            if not self._connection.poll(120):
                raise TimeoutError("the replay server process did not start within 120 s")
            self.port = self._connection.recv()
        else:
            import reverb

            self._server = reverb.Server(builder.make_replay_tables(), port=None)
            self.port = self._server.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._child is not None:
            self._connection.send("stop")
            self._child.join(60)
            if self._child.is_alive():
                self._child.kill()


def executor_steps_per_second(
    copies: int,
    steps: int,
    seed: int,
    breakdown: bool = False,
    overrides: Optional[Dict[str, Any]] = None,
    run_options: Optional[Dict[str, Any]] = None,
    server_process: bool = False,
    record_state: bool = False,
):
    """A MADQN executor acting in ``copies`` environment copies, writing to Reverb.

    Returns steps/s, and with ``breakdown`` also the microseconds per env step spent in the
    environment (Mava's wrapper, its contract check and mpe2), the policy, the replay writes
    and the rest (environment loop, hooks, bookkeeping). ``overrides`` and ``run_options``
    change the system's and the run's settings (the ablations); ``server_process`` puts the
    Reverb server in a process of its own on the other core; ``record_state`` makes the
    executor record the global state although MADQN does not read it.
    """
    builder = _builder(copies, seed, overrides, run_options)
    if record_state:
        builder.system.reads_state = lambda: True
    server = _ReplayServer(builder, server_process, (copies, seed, overrides, run_options))
    try:
        loop, _ = builder.make_executor(0, f"localhost:{server.port}", None)
        while loop.steps < 200:  # warm up: compile the policy, fill the writers' first items
            loop.step_batch()
        totals = _instrument(loop) if breakdown else None
        taken, started = loop.steps, time.perf_counter()
        while loop.steps - taken < steps:
            loop.step_batch()
        elapsed = time.perf_counter() - started
        taken = loop.steps - taken
        loop.close()
    finally:
        server.stop()
    if not breakdown:
        return taken / elapsed
    parts = {name: seconds / taken * 1e6 for name, seconds in totals.items()}
    parts["loop, hooks, rest"] = elapsed / taken * 1e6 - sum(parts.values())
    return taken / elapsed, parts


def measure(steps: int, copies, repeats: int):
    """Best of ``repeats`` interleaved rounds for every variant (least disturbed by other work)."""
    rates = {"raw": []}
    rates.update({f"executor K={k}": [] for k in copies})
    raw_steps_per_second(500, 0)  # warm up imports
    ablations = ABLATIONS if 16 in copies else ()
    separate = 16 in copies and (os.cpu_count() or 1) > 1
    rates.update({name: [] for name, _, _ in ablations})
    if separate:
        rates[SERVER_PROCESS_VARIANT] = []
    if 16 in copies:
        rates[STATE_VARIANT] = []
    for repeat in range(repeats):
        rates["raw"].append(raw_steps_per_second(steps, repeat))
        for k in copies:
            rates[f"executor K={k}"].append(executor_steps_per_second(k, steps, repeat))
        for name, overrides, run_options in ablations:
            rates[name].append(
                executor_steps_per_second(16, steps, repeat, overrides=overrides, run_options=run_options)
            )
        if separate:
            rates[SERVER_PROCESS_VARIANT].append(executor_steps_per_second(16, steps, repeat, server_process=True))
        if 16 in copies:
            rates[STATE_VARIANT].append(executor_steps_per_second(16, steps, repeat, record_state=True))
    best = {name: max(values) for name, values in rates.items()}
    # one more, instrumented, round: where an executor's step goes (the wrappers cost a little)
    breakdown = {f"executor K={k}": executor_steps_per_second(k, steps, 0, breakdown=True)[1] for k in copies}
    for name, overrides, run_options in ablations:
        breakdown[name] = executor_steps_per_second(16, steps, 0, True, overrides, run_options)[1]
    if separate:
        breakdown[SERVER_PROCESS_VARIANT] = executor_steps_per_second(16, steps, 0, True, server_process=True)[1]
    if 16 in copies:
        breakdown[STATE_VARIANT] = executor_steps_per_second(16, steps, 0, True, record_state=True)[1]
    raw_us = 1e6 / best["raw"]
    return {
        "breakdown_us_per_step": breakdown,
        "raw_us_per_step": raw_us,
        "task": f"mpe2 {TASK} (3 agents, discrete, {EPISODE}-step episodes)",
        "steps_per_round": steps,
        "repeats": repeats,
        "steps_per_second": best,
        "all_rounds": rates,
        "ratio_to_raw": {name: value / best["raw"] for name, value in best.items() if name != "raw"},
    }


#: the acting target: K = 16 copies at this share of the raw environment's step rate
TARGET_SHARE_OF_RAW = 0.70


def plot(result, machine) -> None:
    """Steps/s of each variant against the raw rate and the target, and where a step's time goes."""
    made = new_figure(2, width=6.5)
    if made is None:
        return
    figure, (rates, parts) = made
    rate = result["steps_per_second"]
    names = ["raw"] + list(result["ratio_to_raw"])
    rates.barh(names[::-1], [rate[name] for name in names[::-1]], color=["tab:blue"] * (len(names) - 1) + ["grey"])
    rates.axvline(
        TARGET_SHARE_OF_RAW * rate["raw"],
        color="black",
        linestyle="--",
        label=f"target: {TARGET_SHARE_OF_RAW:.0%} of raw",
    )
    rates.set_xlabel("env steps/s (one core)")
    rates.set_title("Acting throughput")
    rates.legend(fontsize=8, loc="lower right")
    breakdown = result["breakdown_us_per_step"]
    variants = list(breakdown)[::-1]
    left = [0.0] * len(variants)
    for part in next(iter(breakdown.values())):
        widths = [breakdown[v][part] for v in variants]
        parts.barh(variants, widths, left=left, label=part)
        left = [a + b for a, b in zip(left, widths)]
    parts.axvline(result["raw_us_per_step"], color="grey", linestyle=":", label="raw env step")
    parts.set_xlabel("µs per env step")
    parts.set_xlim(right=1.5 * max(left))  # room for the legend beside the bars
    parts.set_title("Time per env step")
    parts.legend(fontsize=8, loc="lower right")
    save_figure(figure, "acting_throughput.png", machine)


def write_results(result, machine) -> str:
    write_json("acting_throughput.json", {"machine": machine, "result": result})
    plot(result, machine)
    lines = [
        "# Acting throughput",
        "",
        f"Machine: {machine['summary']}. The executor's process pinned to one core, TensorFlow with one "
        f"intra-op and one inter-op thread (as Launchpad's executors). {result['task']}; "
        f"{result['steps_per_round']} steps per round, best of {result['repeats']} interleaved rounds. "
        "*raw*: mpe2's parallel environment with numpy random actions in a bare loop. "
        "*executor K*: MADQN acting in K copies (one batched compiled policy call per step for every agent "
        "of every copy; every transition written to an in-process Reverb server in the stacked layout, "
        "`dataset.stack_agents`, in blocks of K transitions, `dataset.block_size`; no parameter pulls). "
        "The K=16 ablations change one thing each: one Reverb item per transition (`dataset.block_size=1`, "
        "the layout before blocks), the per-agent replay layout (one column per agent and field, one item per "
        "transition) and no environment contract check (`run.check_environment=false`); the last variant runs the "
        "Reverb server in a process of its own pinned to the other core, as under Launchpad (replay is a node "
        "of its own), instead of in the executor's process; *global state recorded (as before)* asks mpe2 for its "
        "global state at every step and stores it in every item, as executors did for every system before "
        "`System.reads_state` (MADQN does not read it).",
        "",
        "| variant | env steps/s | share of raw |",
        "|---|---|---|",
        f"| raw environment | {result['steps_per_second']['raw']:.0f} | 100% |",
    ]
    for name, ratio in result["ratio_to_raw"].items():
        lines.append(f"| {name} | {result['steps_per_second'][name]:.0f} | {ratio:.0%} |")
    lines += [
        "",
        "Where an executor's environment step goes (µs per env step, one more instrumented round; "
        f"the raw environment step takes {result['raw_us_per_step']:.0f} µs):",
        "",
        "| variant | " + " | ".join(next(iter(result["breakdown_us_per_step"].values()))) + " |",
        "|---|" + "---|" * len(next(iter(result["breakdown_us_per_step"].values()))),
    ]
    for name, parts in result["breakdown_us_per_step"].items():
        lines.append(f"| {name} | " + " | ".join(f"{value:.0f}" for value in parts.values()) + " |")
    lines += [
        "",
        "![acting throughput](acting_throughput.png)",
        "",
        "Target: K = 16 at least 70% of raw. Regenerate with `.venv/bin/python benchmarks/acting_throughput.py`.",
    ]
    return write_text("acting_throughput.md", lines)


def _limit_tensorflow_threads() -> None:
    """One intra-op and one inter-op thread, as Launchpad's executors (``ACTOR_THREADS``)."""
    import tensorflow as tf

    from mava_plugins.backends.launchpad_backend import ACTOR_THREADS

    tf.config.threading.set_intra_op_parallelism_threads(ACTOR_THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(ACTOR_THREADS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--copies", default="1,4,16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--from-results", action="store_true", help="redraw the table and plot from the committed JSON")
    args = parser.parse_args()
    if args.from_results:
        record = read_json("acting_throughput.json")
        print(write_results(record["result"], record["machine"]))
        return
    pin_to_one_core()
    _limit_tensorflow_threads()
    result = measure(args.steps, [int(k) for k in args.copies.split(",")], args.repeats)
    print(write_results(result, machine_facts()))


if __name__ == "__main__":
    main()
