"""Acting throughput: raw environment steps/s next to an executor's, for K environment copies.

On one core (the process is pinned to CPU 0, so TensorFlow's threads share it too), in one
process and one run:

* ``raw``: mpe2's ``simple_spread_v3`` parallel environment stepped in a bare loop with
  uniformly random actions (no Mava code at all): the target's denominator;
* ``raw, direct step``: the same loop, but each step done by Mava's direct step on mpe2's
  turn-based core (:mod:`mava_plugins.envs.pettingzoo_direct`), as Mava's wrapper steps it:
  the fastest the environment itself goes;
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
* ``executor K=16, through PettingZoo's parallel conversion (as before)``: the same, but the
  wrapper steps the environment through PettingZoo's ``parallel_env`` as it did before the
  direct step.

TensorFlow runs with one intra-op and one inter-op thread, as Launchpad's executors do. Every
variant is built once and kept alive; they take turns in short blocks (``--block`` env steps,
the order rotating every round) for ``--rounds`` rounds, so the VM's slow spells, which last
longer than a block, fall on all of them alike. (Whole rounds of 6,000 steps per variant, best
of three, as this script measured before, put K = 16 at 77%, 59% and 47% of raw in three runs
of one day.)

The figure of merit is each executor's steps/s divided by the raw rate. Writes
``results/acting_throughput.json``, ``.md`` and ``.png``; ``--from-results`` redraws the table
and plot from the committed JSON without measuring.

    .venv/bin/python benchmarks/acting_throughput.py [--block 1000] [--copies 1,4,16] [--rounds 16]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np
from common import machine_facts, new_figure, pin_to_one_core, read_json, save_figure, write_json, write_text

from mava_core.config import RunConfig
from mava_core.plugins import PluginManager
from mava_core.system import SystemBuilder

TASK = "simple_spread_v3"
EPISODE = 25


class _RawEnvironment:
    """mpe2's parallel environment alone, random discrete actions from numpy, stepped a block at a time."""

    def __init__(self, seed: int, direct: bool = False) -> None:
        from mpe2 import simple_spread_v3

        from mava_plugins.envs.pettingzoo_direct import DirectParallelStep

        self._env = simple_spread_v3.parallel_env(max_cycles=EPISODE, continuous_actions=False)
        self._step = DirectParallelStep.for_env(self._env) if direct else self._env.step
        self._rng = np.random.default_rng(seed)
        self._env.reset(seed=seed)
        self._sizes = {agent: self._env.action_space(agent).n for agent in self._env.possible_agents}
        self.run(500)  # warm up

    def run(self, steps: int) -> Tuple[int, float]:
        """Take ``steps`` steps; returns (steps taken, seconds)."""
        env, step, rng, sizes = self._env, self._step, self._rng, self._sizes
        started = time.perf_counter()
        for _ in range(steps):
            if not env.agents:
                env.reset()
            step({agent: int(rng.integers(sizes[agent])) for agent in env.agents})
        return steps, time.perf_counter() - started

    def close(self) -> None:
        self._env.close()


def raw_steps_per_second(steps: int, seed: int) -> float:
    """mpe2's parallel environment alone, random discrete actions from numpy (other benchmarks' baseline)."""
    environment = _RawEnvironment(seed)
    try:
        taken, elapsed = environment.run(steps)
    finally:
        environment.close()
    return taken / elapsed


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
    (
        "executor K=16, through PettingZoo's parallel conversion (as before)",
        {},
        {"env_options": {"direct_step": False}},
    ),
)


#: the variant whose replay server runs in a process of its own on the other core
SERVER_PROCESS_VARIANT = "executor K=16, replay server in another process"

#: the variant that asks the environment for its global state at every step and stores it in
#: every item, as executors did for every system before ``System.reads_state`` (MADQN reads none)
STATE_VARIANT = "executor K=16, global state recorded (as before)"

#: the raw loop stepped by the direct step (mpe2's turn-based core, no PettingZoo conversion)
RAW_DIRECT = "raw, direct step"


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


class _Executor:
    """A MADQN executor acting in ``copies`` environment copies, writing to Reverb, stepped a block at a time.

    ``overrides`` and ``run_options`` change the system's and the run's settings (the
    ablations); ``server_process`` puts the Reverb server in a process of its own on the other
    core; ``record_state`` makes the executor record the global state although MADQN does not
    read it.
    """

    def __init__(
        self,
        copies: int,
        seed: int,
        overrides: Optional[Dict[str, Any]] = None,
        run_options: Optional[Dict[str, Any]] = None,
        server_process: bool = False,
        record_state: bool = False,
    ) -> None:
        builder = _builder(copies, seed, overrides, run_options)
        if record_state:
            builder.system.reads_state = lambda: True
        self._server = _ReplayServer(builder, server_process, (copies, seed, overrides, run_options))
        self.loop, _ = builder.make_executor(0, f"localhost:{self._server.port}", None)
        while self.loop.steps < 200:  # warm up: compile the policy, fill the writers' first items
            self.loop.step_batch()

    def run(self, steps: int) -> Tuple[int, float]:
        """At least ``steps`` env steps (whole vector steps); returns (env steps taken, seconds)."""
        loop = self.loop
        taken, started = loop.steps, time.perf_counter()
        while loop.steps - taken < steps:
            loop.step_batch()
        return loop.steps - taken, time.perf_counter() - started

    def breakdown(self, steps: int) -> Dict[str, float]:
        """Microseconds per env step in the environment (Mava's wrapper, its contract check and mpe2),
        the policy, the replay writes and the rest (loop, hooks, bookkeeping), over ``steps`` more steps."""
        totals = _instrument(self.loop)
        taken, elapsed = self.run(steps)
        parts = {name: seconds / taken * 1e6 for name, seconds in totals.items()}
        parts["loop, hooks, rest"] = elapsed / taken * 1e6 - sum(parts.values())
        return parts

    def close(self) -> None:
        try:
            self.loop.close()
        finally:
            self._server.stop()


def _variants(copies) -> Dict[str, Any]:
    """The raw environment and every executor variant, each built once and kept alive."""
    variants: Dict[str, Any] = {"raw": _RawEnvironment(0), RAW_DIRECT: _RawEnvironment(0, direct=True)}
    try:
        for k in copies:
            variants[f"executor K={k}"] = _Executor(k, 0)
        if 16 in copies:
            for name, overrides, run_options in ABLATIONS:
                variants[name] = _Executor(16, 0, overrides, run_options)
            if (os.cpu_count() or 1) > 1:
                variants[SERVER_PROCESS_VARIANT] = _Executor(16, 0, server_process=True)
            variants[STATE_VARIANT] = _Executor(16, 0, record_state=True)
    except BaseException:
        _close(variants)
        raise
    return variants


def _close(variants: Dict[str, Any]) -> None:
    for variant in variants.values():
        variant.close()


def measure(block: int, copies, rounds: int):
    """Every variant's rate over ``rounds`` rounds in which each takes ``block`` steps in turn.

    All variants live in this process at once and take turns in short blocks, the order
    rotating every round, so a slow spell of the VM falls on all of them alike; each rate is
    its steps over its seconds summed over the rounds.
    """
    variants = _variants(copies)
    try:
        names = list(variants)
        steps = dict.fromkeys(names, 0)
        seconds = dict.fromkeys(names, 0.0)
        per_round: Dict[str, list] = {name: [] for name in names}
        for round_index in range(rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                taken, elapsed = variants[name].run(block)
                steps[name] += taken
                seconds[name] += elapsed
                per_round[name].append(taken / elapsed)
        rates = {name: steps[name] / seconds[name] for name in names}
        # one more, instrumented, block each: where an executor's step goes (the wrappers cost a little)
        breakdown = {
            name: variant.breakdown(2 * block) for name, variant in variants.items() if not name.startswith("raw")
        }
    finally:
        _close(variants)
    return {
        "breakdown_us_per_step": breakdown,
        "raw_us_per_step": 1e6 / rates["raw"],
        "task": f"mpe2 {TASK} (3 agents, discrete, {EPISODE}-step episodes)",
        "steps_per_block": block,
        "rounds": rounds,
        "steps_per_second": rates,
        "all_rounds": per_round,
        "ratio_to_raw": {name: value / rates["raw"] for name, value in rates.items() if name != "raw"},
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
        f"every variant built once and kept alive in the one process; {result['rounds']} rounds in which each "
        f"takes {result['steps_per_block']} env steps in turn (the order rotating every round), each rate its "
        "steps over its seconds summed over the rounds. "
        "*raw*: mpe2's parallel environment with numpy random actions in a bare loop (the target's denominator); "
        "*raw, direct step*: the same loop stepping mpe2's turn-based core directly, as Mava's wrapper does "
        "(`mava_plugins/envs/pettingzoo_direct.py`). "
        "*executor K*: MADQN acting in K copies (one batched compiled policy call per step for every agent "
        "of every copy; every transition written to an in-process Reverb server in the stacked layout, "
        "`dataset.stack_agents`, in blocks of K transitions, `dataset.block_size`; no parameter pulls). "
        "The K=16 ablations change one thing each: one Reverb item per transition (`dataset.block_size=1`, "
        "the layout before blocks), the per-agent replay layout (one column per agent and field, one item per "
        "transition) and no environment contract check (`run.check_environment=false`); the last variant runs the "
        "Reverb server in a process of its own pinned to the other core, as under Launchpad (replay is a node "
        "of its own), instead of in the executor's process; *global state recorded (as before)* asks mpe2 for its "
        "global state at every step and stores it in every item, as executors did for every system before "
        "`System.reads_state` (MADQN does not read it); *through PettingZoo's parallel conversion (as before)* "
        "steps mpe2 through `parallel_env` as the wrapper did before the direct step.",
        "",
        "| variant | env steps/s | share of raw |",
        "|---|---|---|",
        f"| raw environment | {result['steps_per_second']['raw']:.0f} | 100% |",
    ]
    for name, ratio in result["ratio_to_raw"].items():
        lines.append(f"| {name} | {result['steps_per_second'][name]:.0f} | {ratio:.0%} |")
    lines += [
        "",
        "Where an executor's environment step goes (µs per env step, one more instrumented block each; "
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
    parser.add_argument("--block", type=int, default=1000, help="env steps each variant takes per turn")
    parser.add_argument("--copies", default="1,4,16")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--from-results", action="store_true", help="redraw the table and plot from the committed JSON")
    args = parser.parse_args()
    if args.from_results:
        record = read_json("acting_throughput.json")
        print(write_results(record["result"], record["machine"]))
        return
    pin_to_one_core()
    _limit_tensorflow_threads()
    result = measure(args.block, [int(k) for k in args.copies.split(",")], args.rounds)
    print(write_results(result, machine_facts()))


if __name__ == "__main__":
    main()
