"""Replay write cost: what Reverb's writer costs per transition, by table layout and chunk length.

What bounds the acting benchmark's *replay writes*: one process pinned to one core writes
transitions of mpe2 ``simple_spread_v3``'s shapes (3 agents, 18-float observations, 5
actions, 54-float global state) into a table of an in-process Reverb server, the way the
transition adder does (append one step, create one item referencing it, wait for
confirmations every 8 items). Each variant writes the same items; only the layout and the
writer's chunking differ:

* ``per-agent``: one column per agent and field (7 × 3 + 2 = 23 columns, the old layout);
* ``stacked``: one ``[agents, ...]`` column per field (9 columns, ``dataset.stack_agents``);
* ``stacked, chunks of 16``: the stacked layout with ``num_keep_alive_refs=16``, so Reverb
  may put up to 16 steps of a column in one chunk (items wait for their chunk; not used);
* ``stacked, blocks of G``: the stacked layout with ``dataset.block_size`` G: every field has
  a leading ``[G]`` axis and one append and one item carry G transitions (what an executor
  stepping G environment copies writes per vector step). Its cost per transition is the cost
  per item divided by G; the G transitions are stacked before the clock starts, as above.

Writes ``results/replay_write_cost.json`` and ``.md``.

    .venv/bin/python benchmarks/replay_write_cost.py [--items 5000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Callable, Dict, Tuple

import numpy as np
from common import machine_facts, pin_to_one_core, write_json, write_text

AGENTS, OBSERVATION, ACTIONS, STATE = 3, 18, 5, 54
FIELDS = ("observations", "masks", "actions", "rewards", "discounts", "next_observations", "next_masks")
BOUND_EVERY, IN_FLIGHT = 8, 24


def _shapes() -> Dict[str, Tuple[Tuple[int, ...], Any]]:
    return {
        "observations": ((OBSERVATION,), np.float32),
        "masks": ((ACTIONS,), np.float32),
        "actions": ((), np.int32),
        "rewards": ((), np.float32),
        "discounts": ((), np.float32),
        "next_observations": ((OBSERVATION,), np.float32),
        "next_masks": ((ACTIONS,), np.float32),
    }


def signature(stacked: bool, block: int = 1) -> Dict[str, Any]:
    import tensorflow as tf

    lead = (block,) if block > 1 else ()
    spec: Dict[str, Any] = {}
    for field, (shape, dtype) in _shapes().items():
        if stacked:
            spec[field] = tf.TensorSpec(lead + (AGENTS,) + shape, tf.as_dtype(dtype))
        else:
            spec[field] = {f"agent_{i}": tf.TensorSpec(lead + shape, tf.as_dtype(dtype)) for i in range(AGENTS)}
    spec["state"] = spec["next_state"] = tf.TensorSpec(lead + (STATE,), tf.float32)
    return spec


def item_maker(stacked: bool, seed: int = 0, block: int = 1) -> Callable[[], Dict[str, Any]]:
    """Fresh arrays every call, as an executor produces them (``block`` > 1: blocks of that many transitions)."""
    rng = np.random.default_rng(seed)
    lead = (block,) if block > 1 else ()

    def make() -> Dict[str, Any]:
        item: Dict[str, Any] = {}
        for field, (shape, dtype) in _shapes().items():
            if stacked:
                item[field] = rng.random(lead + (AGENTS,) + shape).astype(dtype)
            else:
                item[field] = {f"agent_{i}": rng.random(lead + shape).astype(dtype) for i in range(AGENTS)}
        item["state"] = rng.random(lead + (STATE,)).astype(np.float32)
        item["next_state"] = rng.random(lead + (STATE,)).astype(np.float32)
        return item

    return make


def _last_step(history: Any) -> Any:
    return {k: _last_step(v) for k, v in history.items()} if isinstance(history, dict) else history[-1]


def microseconds_per_item(client: Any, table: str, stacked: bool, keep_alive: int, items: int,
                          block: int = 1) -> Dict[str, float]:
    make = item_maker(stacked, block=block)
    prepared = [make() for _ in range(items)]  # made beforehand: only the writer is timed
    writer = client.trajectory_writer(num_keep_alive_refs=keep_alive)
    started = time.perf_counter()
    for index, item in enumerate(prepared):
        writer.append(item)
        writer.create_item(table, 1.0, _last_step(writer.history))
        if index % BOUND_EVERY == 0:
            writer.flush(IN_FLIGHT + keep_alive)
    writer.flush()
    elapsed = time.perf_counter() - started
    writer.close()
    return {"us_per_item": elapsed / items * 1e6}


#: (name, stacked, keep-alive references, transitions per item)
VARIANTS = (("per-agent", False, 1, 1), ("stacked", True, 1, 1), ("stacked, chunks of 16", True, 16, 1),
            ("stacked, blocks of 4", True, 1, 4), ("stacked, blocks of 16", True, 1, 16))


def measure(items: int, repeats: int) -> Dict[str, Any]:
    import reverb

    layouts = {(stacked, block) for _, stacked, _, block in VARIANTS}
    tables = [
        reverb.Table(
            _table_name(stacked, block),
            reverb.selectors.Uniform(),
            reverb.selectors.Fifo(),
            10 * items,
            reverb.rate_limiters.MinSize(1),
            signature=signature(stacked, block),
        )
        for stacked, block in sorted(layouts)
    ]
    server = reverb.Server(tables, port=None)
    client = reverb.Client(f"localhost:{server.port}")
    rounds: Dict[str, list] = {name: [] for name, *_ in VARIANTS}
    try:
        microseconds_per_item(client, "stacked", True, 1, 200)  # warm up
        for _ in range(repeats):
            for name, stacked, keep_alive, block in VARIANTS:
                # the same number of transitions for every variant: items // block items of `block`
                written = microseconds_per_item(client, _table_name(stacked, block), stacked, keep_alive,
                                                max(1, items // block), block)
                rounds[name].append(written["us_per_item"] / block)
    finally:
        server.stop()
    columns = {name: (7 * AGENTS + 2 if not stacked else 7 + 2) for name, stacked, _, _ in VARIANTS}
    best = {name: min(values) for name, values in rounds.items()}
    return {
        "items_per_round": items,
        "repeats": repeats,
        "columns": columns,
        "transitions_per_item": {name: block for name, _, _, block in VARIANTS},
        "best_us_per_transition": best,
        "all_rounds": rounds,
    }


def _table_name(stacked: bool, block: int) -> str:
    return ("stacked" if stacked else "per_agent") + (f"_blocks_{block}" if block > 1 else "")


def write_results(result: Dict[str, Any], machine: Dict[str, Any]) -> str:
    write_json("replay_write_cost.json", {"machine": machine, "result": result})
    lines = [
        "# Replay write cost",
        "",
        f"Machine: {machine['summary']}. One process pinned to one core, an in-process Reverb server. "
        f"Transitions of mpe2 simple_spread_v3's shapes ({AGENTS} agents); {result['items_per_round']} transitions "
        f"per round, best of {result['repeats']} interleaved rounds; the items are made before the clock starts. "
        "*blocks of G*: one item (one append) holds G transitions (`dataset.block_size`); its cost per transition "
        "is the cost per item over G.",
        "",
        "| variant | columns | transitions per item | µs per transition | µs per column and item |",
        "|---|---|---|---|---|",
    ]
    for name, value in result["best_us_per_transition"].items():
        columns, block = result["columns"][name], result["transitions_per_item"][name]
        lines.append(f"| {name} | {columns} | {block} | {value:.0f} | {value * block / columns:.1f} |")
    lines += ["", "Target: at most 60 µs per transition (an executor's env step) at K = 16 copies. "
              "Regenerate with `.venv/bin/python benchmarks/replay_write_cost.py`."]
    return write_text("replay_write_cost.md", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pin_to_one_core()
    print(write_results(measure(args.items, args.repeats), machine_facts()))


if __name__ == "__main__":
    main()
