"""``run.checkpoint_every_seconds``: checkpoints appear during a run on the clock, not only at its end.

A custom node sleeps 10 ms every round of the local backend, so the rounds last at least
1.5 s whatever the machine's speed; with a checkpoint every half second (and step-count
checkpoints off) the run must keep checkpoints taken before its budget was reached, spaced
by at least the interval.
"""
from __future__ import annotations

import json
import time

from helpers import local_run

from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.program import CUSTOM, Node

BUDGET = 150
ROUND_SLEEP = 0.01  # seconds per round: >= 1.5 s of rounds for 150 single-executor rounds
INTERVAL = 0.5


class _SlowRounds:
    def __init__(self, *args, **kwargs):
        self.rounds = 0

    def step(self):
        self.rounds += 1
        time.sleep(ROUND_SLEEP)

    def run(self):  # pragma: no cover - only the local backend runs this test
        raise NotImplementedError


class _AddSlowRounds:
    name = "slow_rounds"

    @hookimpl
    def mava_program_build_nodes(self, builder, program):
        program.add(Node("slow_rounds", CUSTOM, _SlowRounds))


def test_checkpoints_are_written_on_the_clock_during_the_run(tmp_path):
    manager = PluginManager()
    manager.register(_AddSlowRounds())
    overrides = {"dataset.min_size": 50, "dataset.batch_size": 16, "run.checkpoint_every": 0,
                 "run.checkpoint_every_seconds": INTERVAL, "run.checkpoint_keep": 100}
    started = time.monotonic()
    summary, _ = local_run(tmp_path, "madqn", "debug:two_step", BUDGET, overrides, plugin_manager=manager,
                           eval_episodes=1, random_baseline_episodes=1)
    elapsed = time.monotonic() - started
    manifest = json.loads((tmp_path / "checkpoints" / "checkpoint.json").read_text())
    entries = manifest["checkpoints"]
    steps = [int(entry["id"]) for entry in entries]
    final = summary["env_steps"]
    assert steps[-1] == final, "the last checkpoint is the one at exit"
    during = [s for s in steps if 0 < s < final]
    assert len(during) >= 1, f"expected checkpoints before the end of a run with >= 1.5 s of rounds, got ids {steps} (run took {elapsed:.1f} s)"
    assert steps == sorted(steps)
    created = [entry["created"] for entry in entries[: len(during) + 1]]
    gaps = [b - a for a, b in zip(created, created[1:])]
    assert all(gap >= INTERVAL for gap in gaps[:-1]), gaps  # on the clock, not more often (the last one ends at exit)
    assert len(during) <= elapsed / INTERVAL + 1
