"""How much the per-step hooks cost next to an environment step.

Steps an environment with uniformly random legal actions three ways, in one process:

* ``raw``: ``environment.step`` in a bare ``for`` loop (no Mava machinery);
* ``core``: the same actions through :class:`~mava_core.environment_loop.EnvironmentLoop` and
  :class:`~mava_core.executor.Executor`, so every step dispatches the executor and
  environment-loop hooks to the core defaults;
* ``core+3 plugins``: as ``core`` with three extra plugins that each implement every per-step
  hook as a no-op (what a user's instrumentation plugins add).

The policy is the same numpy random policy in all three (no network). Time inside the
environment and the policy is measured and subtracted within the same steps, so what remains
is the loop's own cost: hook dispatch and bookkeeping. Writes ``results/hook_overhead.json``
and ``.md``.

    .venv/bin/python benchmarks/hook_overhead.py [--steps 20000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from common import RESULTS, machine_facts, write_text

from mava_core.environment import EnvironmentWrapper
from mava_core.environment_loop import EnvironmentLoop
from mava_core.executor import Executor
from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.system import parse_environment_name

ENVIRONMENTS = ("pettingzoo:simple_spread_v3", "debug:simple_spread")


class RandomPolicy:
    """Uniformly random legal actions from a seeded generator (no network); times itself."""

    def __init__(self, spec, seed: int = 0):
        self._rng = np.random.default_rng(seed)
        self._agents = list(spec.agents)
        self.seconds = 0.0

    def reset(self):
        pass

    def set_step(self, step):
        pass

    def select_actions(self, observations):
        started = time.perf_counter()
        rng = self._rng
        actions = {}
        for agent in self._agents:
            legal = np.flatnonzero(observations[agent].action_mask)
            actions[agent] = np.int32(legal[rng.integers(legal.size)])
        self.seconds += time.perf_counter() - started
        return actions


class TimedEnvironment(EnvironmentWrapper):
    """Accumulates the seconds spent inside the wrapped environment's ``reset`` and ``step``."""

    def __init__(self, environment):
        super().__init__(environment)
        self.seconds = 0.0

    def reset(self):
        started = time.perf_counter()
        timestep = self._environment.reset()
        self.seconds += time.perf_counter() - started
        return timestep

    def step(self, actions):
        started = time.perf_counter()
        timestep = self._environment.step(actions)
        self.seconds += time.perf_counter() - started
        return timestep


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


def make_environment(pm: PluginManager, name: str, seed: int) -> TimedEnvironment:
    family, task = parse_environment_name(name)
    return TimedEnvironment(pm.registry.get("environment", family).make(task, seed=seed))


def time_raw(pm, name, steps, seed):
    """(total, environment, policy) seconds per step of a bare loop."""
    environment = make_environment(pm, name, seed)
    policy = RandomPolicy(environment.multi_agent_spec(), seed)
    started = time.perf_counter()
    timestep = environment.reset()
    for _ in range(steps):
        if timestep.last():
            timestep = environment.reset()
        timestep = environment.step(policy.select_actions(timestep.observation))
    total = time.perf_counter() - started
    return total / steps, environment.seconds / steps, policy.seconds / steps


def time_loop(pm, name, steps, seed):
    """(total, environment, policy) seconds per step through the executor and environment loop."""
    environment = make_environment(pm, name, seed)
    policy = RandomPolicy(environment.multi_agent_spec(), seed)
    loop = EnvironmentLoop(environment, Executor(policy, pm.hook), pm.hook)
    started = time.perf_counter()
    loop.run(num_steps=steps)
    total = time.perf_counter() - started
    return total / steps, environment.seconds / steps, policy.seconds / steps


def measure(name: str, steps: int, repeats: int):
    """Per variant: the least framework time per step over ``repeats`` interleaved rounds.

    Framework time is a step's total minus the time inside the environment and the policy,
    measured within the same steps, so it does not depend on how fast the environment
    happened to run in a round. The least value over rounds is the one least disturbed by
    other work on the machine.
    """
    base = PluginManager()
    extra = PluginManager()
    for index in range(3):
        extra.register(NoOpStepPlugin(), name=f"noop_{index}")
    variants = {"raw": (time_raw, base), "core": (time_loop, base), "core+3 plugins": (time_loop, extra)}
    samples = {variant: [] for variant in variants}
    time_raw(base, name, steps // 10, 0)  # warm up imports and caches
    for repeat in range(repeats):
        for variant, (timer, pm) in variants.items():
            samples[variant].append(timer(pm, name, steps, repeat))
    framework = {v: min(total - env - policy for total, env, policy in rows) for v, rows in samples.items()}
    env_step = min(env for rows in samples.values() for _, env, _ in rows)
    return {
        "environment": name,
        "steps": steps,
        "repeats": repeats,
        "environment_us_per_step": env_step * 1e6,
        "framework_us_per_step": {v: value * 1e6 for v, value in framework.items()},
        "hook_overhead_us_per_step": {v: (framework[v] - framework["raw"]) * 1e6 for v in ("core", "core+3 plugins")},
        "hook_overhead_fraction_of_env_step": {
            v: (framework[v] - framework["raw"]) / env_step for v in ("core", "core+3 plugins")
        },
    }


def write_results(results, machine):
    with open(os.path.join(RESULTS, "hook_overhead.json"), "w") as handle:
        json.dump({"machine": machine, "results": results}, handle, indent=2)
    lines = [
        "# Per-step hook overhead",
        "",
        f"Machine: {machine['summary']}. "
        "Random actions from a numpy policy, one process. *Framework time* is a step's wall time minus "
        "the time inside `environment.step`/`reset` and the policy, measured within the same steps; "
        "each figure is the least over interleaved rounds. *Hook overhead* is the framework time of "
        "the environment loop (executor and loop hooks dispatched through pluggy) minus that of a "
        "bare `for` loop, and its share of one environment step.",
        "",
        "| environment | env step µs | bare loop µs | core hooks: overhead µs (share of an env step) "
        "| core + 3 no-op plugins: overhead µs (share) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        frame, over = r["framework_us_per_step"], r["hook_overhead_us_per_step"]
        frac = r["hook_overhead_fraction_of_env_step"]
        lines.append(
            f"| {r['environment']} | {r['environment_us_per_step']:.1f} | {frame['raw']:.1f} | "
            f"{over['core']:.1f} ({frac['core']:.1%}) | {over['core+3 plugins']:.1f} ({frac['core+3 plugins']:.1%}) |"
        )
    lines.append("")
    lines.append("Regenerate with `.venv/bin/python benchmarks/hook_overhead.py`.")
    return write_text("hook_overhead.md", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = [measure(name, args.steps, args.repeats) for name in ENVIRONMENTS]
    print(write_results(results, machine_facts()))


if __name__ == "__main__":
    main()
