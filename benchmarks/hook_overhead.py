"""How much the per-step hooks cost next to an environment step.

Steps an environment with uniformly random legal actions three ways, in one process:

* ``raw``: ``environment.step`` in a bare loop (no Mava machinery);
* ``core``: the same actions through :class:`~mava_core.environment_loop.EnvironmentLoop` and
  :class:`~mava_core.executor.Executor`, so every step dispatches the executor and
  environment-loop hooks to the core defaults;
* ``core+3 plugins``: as ``core`` with three extra plugins that each implement every per-step
  hook as a no-op (what a user's instrumentation plugins add).

The policy is the same numpy random policy in all three (no network), so the difference is the
hook dispatch and loop bookkeeping alone. Writes ``results/hook_overhead.json`` and ``.md``.

    .venv/bin/python benchmarks/hook_overhead.py [--steps 20000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from mava_core.environment_loop import EnvironmentLoop
from mava_core.executor import Executor
from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.system import parse_environment_name

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
ENVIRONMENTS = ("pettingzoo:simple_spread_v3", "debug:simple_spread")


class RandomPolicy:
    """Uniformly random legal actions from a seeded generator (no network)."""

    def __init__(self, spec, seed: int = 0):
        self._rng = np.random.default_rng(seed)
        self._agents = list(spec.agents)

    def reset(self):
        pass

    def set_step(self, step):
        pass

    def select_actions(self, observations):
        rng = self._rng
        actions = {}
        for agent in self._agents:
            legal = np.flatnonzero(observations[agent].action_mask)
            actions[agent] = np.int32(legal[rng.integers(legal.size)])
        return actions


class NoOpStepPlugin:
    """Implements every per-step hook and does nothing."""

    @hookimpl
    def mava_executor_observe(self, executor, actions, next_timestep, extras):
        pass

    @hookimpl
    def mava_executor_select_actions(self, executor, observations):
        return None

    @hookimpl
    def mava_executor_update(self, executor, wait):
        pass

    @hookimpl
    def mava_env_loop_step(self, loop, actions, timestep):
        pass


def make_environment(pm: PluginManager, name: str, seed: int):
    family, task = parse_environment_name(name)
    return pm.registry.get("environment", family).make(task, seed=seed)


def time_raw(pm, name, steps, seed):
    environment = make_environment(pm, name, seed)
    policy = RandomPolicy(environment.multi_agent_spec(), seed)
    timestep = environment.reset()
    started = time.perf_counter()
    for _ in range(steps):
        if timestep.last():
            timestep = environment.reset()
        timestep = environment.step(policy.select_actions(timestep.observation))
    return (time.perf_counter() - started) / steps


def time_loop(pm, name, steps, seed):
    environment = make_environment(pm, name, seed)
    executor = Executor(RandomPolicy(environment.multi_agent_spec(), seed), pm.hook)
    loop = EnvironmentLoop(environment, executor, pm.hook)
    started = time.perf_counter()
    loop.run(num_steps=steps)
    return (time.perf_counter() - started) / steps


def measure(name: str, steps: int, repeats: int):
    """Median seconds per step of each variant over ``repeats`` interleaved rounds."""
    base = PluginManager()
    extra = PluginManager()
    for index in range(3):
        extra.register(NoOpStepPlugin(), name=f"noop_{index}")
    times = {"raw": [], "core": [], "core+3 plugins": []}
    time_raw(base, name, steps // 10, 0)  # warm up imports and caches
    for repeat in range(repeats):
        times["raw"].append(time_raw(base, name, steps, repeat))
        times["core"].append(time_loop(base, name, steps, repeat))
        times["core+3 plugins"].append(time_loop(extra, name, steps, repeat))
    medians = {variant: statistics.median(values) for variant, values in times.items()}
    raw = medians["raw"]
    return {
        "environment": name,
        "steps": steps,
        "repeats": repeats,
        "seconds_per_step": medians,
        "steps_per_second": {variant: 1.0 / value for variant, value in medians.items()},
        "overhead_us_per_step": {v: (medians[v] - raw) * 1e6 for v in ("core", "core+3 plugins")},
        "overhead_fraction_of_step": {v: (medians[v] - raw) / raw for v in ("core", "core+3 plugins")},
    }


def write_results(results, machine):
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "hook_overhead.json"), "w") as handle:
        json.dump({"machine": machine, "results": results}, handle, indent=2)
    lines = [
        "# Per-step hook overhead",
        "",
        f"Machine: {machine['processor']}, {machine['cpus']} CPUs, Python {machine['python']}. "
        "Median of interleaved repeats; random actions, no network, one process. "
        "Overhead is the environment loop with hooks minus the bare `environment.step` loop.",
        "",
        "| environment | raw steps/s | core steps/s | core overhead µs/step (share of a step) "
        "| +3 no-op plugins steps/s | +3 plugins overhead µs/step (share) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        sps, over, frac = r["steps_per_second"], r["overhead_us_per_step"], r["overhead_fraction_of_step"]
        lines.append(
            f"| {r['environment']} | {sps['raw']:,.0f} | {sps['core']:,.0f} | "
            f"{over['core']:.1f} ({frac['core']:.1%}) | {sps['core+3 plugins']:,.0f} | "
            f"{over['core+3 plugins']:.1f} ({frac['core+3 plugins']:.1%}) |"
        )
    lines.append("")
    lines.append("Regenerate with `.venv/bin/python benchmarks/hook_overhead.py`.")
    with open(os.path.join(RESULTS, "hook_overhead.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    machine = {"processor": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()}
    results = [measure(name, args.steps, args.repeats) for name in ENVIRONMENTS]
    print(write_results(results, machine))


if __name__ == "__main__":
    main()
