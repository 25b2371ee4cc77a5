"""Executors on a second Ray node: do they add throughput? MADQN on a real two-node Ray cluster.

Starts the Ray test cluster (``tests/ray_cluster.py``: a head node and a second node on this
machine, each declaring 2 CPUs and carrying the custom resource ``node_a`` or ``node_b``) and
trains MADQN on mpe2 ``simple_spread_v3`` under the Ray backend with the fast layout
(``copies8_batch256`` of ``end_to_end.py``) for a fixed budget, placing the executors with
``run.backend_options.executor_resources``:

* 2 executors, both on the head node;
* 2 executors, one on each node;
* 4 executors, two on each node (the second node's pair added to the first);

and, in the same benchmark run, 2 executors under the Launchpad backend (no Ray at all) as the
single-machine reference.

Rates are the steady-state figures of ``end_to_end.py`` (from the first trainer step on, read
from the run's own logs); every actor's Ray node is read from the run's ``ray_nodes.json``.
Both nodes of this cluster share the machine's cores, which is what the comparison shows the
cost of. Writes ``results/ray_scaling.json`` and ``.md``.

    .venv/bin/python benchmarks/ray_scaling.py [--env-steps 20000]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Dict, List

from common import machine_facts, write_json, write_text
from end_to_end import measure

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from ray_cluster import TwoNodeRayCluster  # noqa: E402

from mava_plugins.backends.ray_backend import PLACEMENT_FILE  # noqa: E402

LAYOUT = "copies8_batch256"
#: (executors, the resources they are placed by, in turn)
PLACEMENTS = ((2, ("node_a",)), (2, ("node_a", "node_b")), (4, ("node_a", "node_b")))


def _without_process_figures(result: Dict[str, object]) -> Dict[str, object]:
    """``result`` without peak memory and cores used: the sampler cannot see Ray's workers (not the launcher's
    children), so no row reports them."""
    for unmeasured in ("peak_memory_mib", "cores_used"):
        result.pop(unmeasured, None)
    return result


def run_on_cluster(address: str, nodes: Dict[str, str], env_steps: int) -> List[Dict[str, object]]:
    names = {node_id: resource for resource, node_id in nodes.items()}
    results = []
    for executors, resources in PLACEMENTS:
        run_dir = tempfile.mkdtemp(prefix=f"ray_scaling_{executors}_")
        options = {"address": address, "executor_resources": ",".join(resources)}
        result = measure("madqn", executors, env_steps, LAYOUT, backend="ray", backend_options=options, run_dir=run_dir)
        with open(os.path.join(run_dir, PLACEMENT_FILE)) as handle:
            placements = json.load(handle)
        result["nodes"] = {actor: names.get(place["node_id"], place["node_id"]) for actor, place in placements.items()}
        result["placement"] = "Ray: " + " and ".join(resources)
        results.append(_without_process_figures(result))
        print(f"{executors} executors on {', '.join(resources)}: {result['env_steps_per_second']:.0f} env steps/s, "
              f"{result['updates_per_second']:.1f} updates/s; nodes {result['nodes']}", flush=True)
    return results


def write_results(results, machine, env_steps: int, raw_rate: float) -> str:
    write_json("ray_scaling.json", {"machine": machine, "env_steps": env_steps, "layout": LAYOUT,
                                    "raw_env_steps_per_second": raw_rate, "results": results})
    lines = [
        "# Executors on a second Ray node",
        "",
        f"Machine: {machine['summary']}. A two-node Ray cluster on this machine (each node declares 2 CPUs; "
        f"both share the machine's cores). MADQN on mpe2 simple_spread_v3, layout `{LAYOUT}` "
        f"(8 environment copies per executor, batches of 256), {env_steps} env steps per run. Steady-state rates "
        "from the run's logs from the first trainer step on. The raw environment (mpe2 alone, one process) made "
        f"{raw_rate:.0f} steps/s in the same benchmark run.",
        "",
        "| executors | placed on | env steps/s | updates/s | rate bound | wall s "
        "| nodes of trainer / replay / executors |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        nodes = r["nodes"]
        executor_nodes = ", ".join(nodes[name] for name in sorted(nodes) if name.startswith("executor_")) or "-"
        lines.append(
            f"| {r['executors']} | {r['placement']} | {r['env_steps_per_second']:.0f} | "
            f"{r['updates_per_second']:.1f} | "
            f"{r['rate_limit_env_steps_per_second']:.0f} | {r['wall_seconds']:.0f} | "
            f"{nodes.get('trainer', '-')} / {nodes.get('replay', '-')} / {executor_nodes} |"
        )
    lines += ["", "Regenerate with `.venv/bin/python benchmarks/ray_scaling.py`."]
    return write_text("ray_scaling.md", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-steps", type=int, default=20_000)
    args = parser.parse_args()
    from acting_throughput import raw_steps_per_second

    raw_rate = max(raw_steps_per_second(6000, seed) for seed in range(3))
    reference = measure("madqn", 2, args.env_steps, LAYOUT)  # Launchpad, before the cluster's processes start
    reference.update(placement="Launchpad (no Ray)", nodes={})
    _without_process_figures(reference)
    print(f"Launchpad, 2 executors: {reference['env_steps_per_second']:.0f} env steps/s", flush=True)
    cluster = TwoNodeRayCluster(cpus_per_node=2)
    try:
        address = cluster.start()
        print(f"cluster {address}: {cluster.nodes}", flush=True)
        results = run_on_cluster(address, cluster.nodes, args.env_steps)
    finally:
        cluster.stop()
        cluster.remove_temp_dir()
    print(write_results([reference] + results, machine_facts(), args.env_steps, raw_rate))


if __name__ == "__main__":
    main()
