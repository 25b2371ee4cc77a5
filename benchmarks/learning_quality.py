"""Learning quality: several systems x MPE Spread and an LBF task x 5 seeds, reported with intervals.

Protocol (Papoudakis et al., 2021, "Benchmarking Multi-Agent Deep Reinforcement Learning
Algorithms in Cooperative Tasks"): 3-agent Spread with 25-step episodes; periodic greedy
evaluation; per run the *maximum* and the *average* of the evaluation returns; 2M env steps
for off-policy and 20M for on-policy methods; 5 seeds. This script runs the grid with
``mava experiment``'s machinery (:mod:`mava_plugins.experiments`): every system at its
default config on every task with every seed, for ``--env-steps`` (what fits on the machine:
the results say how far short of the paper's budget they are). The experiment directory
(``--out``) is resumable: run the same command again after an interruption and finished runs
are kept. The aggregate (``mava report``: interquartile mean, stratified bootstrap intervals,
probability of improvement, learning curves) goes to ``results/learning_quality/``; the
EPyMARL-style per-run table and the summary to ``results/learning_quality.md`` and ``.json``.

Reward scales. The paper used the original MPE, whose Spread reward for agent *i* is
``-D - (1 + c_i)``: ``D`` the sum over landmarks of the nearest agent's distance, ``c_i``
the other agents touching *i*, and the extra 1 because the original collision loop also
counts the agent touching itself; its reported return is the team's sum over agents and
steps. mpe2's ``simple_spread_v3`` (``local_ratio=0.5``) gives ``-0.5 * D - 0.5 * c_i`` and
no self-collision. Summed over N agents and T steps, ``R_paper = 2 * R_mpe2_team - N * T``
(with N = 3, T = 25: ``R_paper = 6 * mean_agent_return - 75``, since Mava reports the mean
per-agent return). :func:`verify_scale_conversion` checks this identity step by step on
mpe2's own world state.

    .venv/bin/python benchmarks/learning_quality.py [--env-steps 200000] [--systems madqn,qmix,mappo,maddpg]
        [--seeds 0,1,2,3,4] [--out runs/learning_quality] [--backend local|ray] [--ray-address HOST:PORT]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, Dict, List

import numpy as np
from common import RESULTS, machine_facts

from mava_plugins.experiments.grid import Grid, run_grid
from mava_plugins.experiments.report import build_report, find_runs, parse_bounds

ENVIRONMENT = "pettingzoo:simple_spread_v3"
#: published LBF results exist for this task (Papoudakis et al., 2021, Table 3: "8x8-2p-2f-c")
LBF_TASK = "lbf:Foraging-8x8-2p-2f-coop-v3"
SYSTEMS = "madqn,qmix,mappo,maddpg"
AGENTS, EPISODE = 3, 25
PAPER_BEST = {"system": "QMIX", "return": -126.62}
PAPER_BUDGET = {"off-policy": 2_000_000, "on-policy": 20_000_000}
ON_POLICY = {"mappo"}


def paper_scale(mean_agent_return: float) -> float:
    """A Mava mean per-agent return on mpe2 Spread, in the paper's (original MPE) team return."""
    return 2.0 * AGENTS * mean_agent_return - AGENTS * EPISODE


def mava_scale(paper_return: float) -> float:
    """The inverse: a paper team return as Mava's mean per-agent return on mpe2."""
    return (paper_return + AGENTS * EPISODE) / (2.0 * AGENTS)


def _original_mpe_reward(scenario, agent, world) -> float:
    """The original MPE Spread reward of ``agent`` (self-collision included), from the world state."""
    reward = -sum(min(np.linalg.norm(a.state.p_pos - landmark.state.p_pos) for a in world.agents)
                  for landmark in world.landmarks)
    if agent.collide:
        reward -= sum(1.0 for other in world.agents if scenario.is_collision(other, agent))  # other == agent counts
    return reward


def verify_scale_conversion(episodes: int = 20, seed: int = 0) -> Dict[str, float]:
    """Step mpe2 with random actions and check, every step, that paper team reward = 2 * mpe2 team reward - N."""
    from mpe2 import simple_spread_v3

    env = simple_spread_v3.parallel_env(N=AGENTS, max_cycles=EPISODE, continuous_actions=False)
    rng = np.random.default_rng(seed)
    worst, steps, collisions = 0.0, 0, 0
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        raw = env.unwrapped
        while env.agents:
            actions = {agent: int(rng.integers(env.action_space(agent).n)) for agent in env.agents}
            _, rewards, _, _, _ = env.step(actions)
            world, scenario = raw.world, raw.scenario
            original = sum(_original_mpe_reward(scenario, agent, world) for agent in world.agents)
            worst = max(worst, abs(original - (2.0 * sum(rewards.values()) - AGENTS)))
            collisions += sum(scenario.is_collision(a, b) for a in world.agents for b in world.agents if a is not b)
            steps += 1
    return {"steps_checked": steps, "max_abs_error": worst, "collision_pairs_seen": collisions}


def per_run(records) -> List[Dict[str, Any]]:
    """EPyMARL's per-run numbers: the maximum and the average of the evaluations after the untrained one."""
    rows = []
    for record in sorted(records, key=lambda r: (r.task, r.system, r.seed)):
        summary = record.summary
        returns = [row["mean_return"] for row in summary["evaluations"]]
        trained = returns[1:] or returns  # the first evaluation is of the untrained policy
        rows.append({"system": record.system, "task": record.task, "seed": record.seed, "env_steps": summary["env_steps"],
                     "max_return": max(trained), "average_return": float(np.mean(trained)),
                     "final_return": summary["final_mean_return"], "random_return": summary["random_return"],
                     "run_dir": record.run_dir})
    return rows


def write_results(results_dir: str, rows, report, check, machine, args, wall_seconds: float) -> str:
    """``learning_quality.json`` and ``.md`` in ``results_dir`` (the report's own files are in its subfolder)."""
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "learning_quality.json"), "w") as handle:
        json.dump({"machine": machine, "scale_check": check, "runs": rows, "aggregate": report.numbers,
                   "paper_best": PAPER_BEST, "settings": vars(args), "wall_seconds": wall_seconds,
                   "measured": time.strftime("%Y-%m-%d")}, handle, indent=2)
    lines = [
        "# Learning quality: MPE Spread and LBF, several seeds",
        "",
        f"Machine: {machine['summary']}. Default configs, local backend (one process per run), "
        f"{args.env_steps:,} env steps per run, greedy evaluation of {args.eval_episodes} episodes every "
        f"{args.eval_every:,} env steps; seeds {args.seeds}. Measured {time.strftime('%Y-%m-%d')}, "
        f"{wall_seconds / 3600:.1f} h of wall time for the runs this launch ran.",
        "",
        "## Aggregate across seeds (`mava report`)",
        "",
        "Score: the final evaluation's mean per-agent return (raw: neither task has known return bounds here). "
        f"IQM: interquartile mean over seeds; intervals: 95% stratified bootstrap ({report.numbers['replicates']} "
        "replicates), after Agarwal et al. (2021).",
        "",
        report.table,
        "",
        "![learning curves](learning_quality/learning_curves.png)",
        "",
        "## Per run (EPyMARL's max and average over evaluations)",
        "",
        f"Scale conversion checked on {check['steps_checked']} random-action steps of mpe2 "
        f"({check['collision_pairs_seen']} touching agent pairs among them): largest per-step difference "
        f"between the original-MPE team reward and `2 × mpe2 team reward − 3`: {check['max_abs_error']:.2e}. "
        "Spread's numbers are also given on the paper's scale (`6 × Mava − 75`).",
        "",
        "| task | system | seed | env steps (share of the paper's budget) | max | average | final | random |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        budget = PAPER_BUDGET["on-policy" if r["system"] in ON_POLICY else "off-policy"]

        def value(x, task=r["task"]):
            return f"{x:.2f} / {paper_scale(x):.1f}" if task == ENVIRONMENT else f"{x:.3f}"

        lines.append(f"| {r['task']} | {r['system']} | {r['seed']} | {r['env_steps']:,} ({r['env_steps'] / budget:.1%} of "
                     f"{budget:,}) | {value(r['max_return'])} | {value(r['average_return'])} | {value(r['final_return'])} | "
                     f"{value(r['random_return'])} |")
    lines += [
        "",
        f"Paper's best on Spread: {PAPER_BEST['system']} {PAPER_BEST['return']} (= {mava_scale(PAPER_BEST['return']):.2f} "
        "as Mava's mean per-agent return), after 2M env steps, maximum over evaluations, mean of 5 seeds. Runs here "
        "stop far short of that budget on 2 cores; nothing is extrapolated.",
        "",
        "Regenerate with `.venv/bin/python benchmarks/learning_quality.py` (see `--help`).",
    ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(results_dir, "learning_quality.md"), "w") as handle:
        handle.write(text)
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-steps", type=int, default=200_000)
    parser.add_argument("--systems", default=SYSTEMS)
    parser.add_argument("--tasks", default=f"{ENVIRONMENT},{LBF_TASK}")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--eval-every", type=int, default=20_000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--out", default=os.path.join("runs", "learning_quality"), help="the (resumable) experiment directory")
    parser.add_argument("--results", default=RESULTS, help="where learning_quality.md/.json and the report go")
    parser.add_argument("--backend", choices=("local", "ray"), default="local", help="runs one after another, or as Ray tasks")
    parser.add_argument("--ray-address", default=None, help="with --backend ray: the cluster (none: a local Ray instance)")
    parser.add_argument("--cpus-per-run", type=float, default=1.0)
    parser.add_argument("overrides", nargs="*", metavar="[SYSTEM:]key=value", help="extra overrides of the runs")
    args = parser.parse_args(argv)
    check = verify_scale_conversion()
    assert check["max_abs_error"] < 1e-6, f"the reward-scale identity does not hold: {check}"
    grid = Grid([s for s in args.systems.split(",") if s], [t for t in args.tasks.split(",") if t],
                [int(s) for s in args.seeds.split(",")], args.env_steps,
                [f"run.eval_every={args.eval_every}", f"run.eval_episodes={args.eval_episodes}", *args.overrides])
    ray_options = None
    if args.backend == "ray":
        from mava_plugins.backends.ray_backend import RayOptions

        ray_options = RayOptions(address=args.ray_address)
    started = time.time()
    _, failed = run_grid(args.out, grid, args.backend, ray_options, args.cpus_per_run,
                         report=lambda line: print(line, flush=True))
    wall_seconds = time.time() - started
    if failed:
        raise SystemExit(f"{len(failed)} runs failed: " + "; ".join(f"{cell.name}: {error}" for cell, error in failed))
    records = [r for r in find_runs([args.out]) if r.system in grid.systems and r.task in grid.tasks]
    report = build_report(records, os.path.join(args.results, "learning_quality"), parse_bounds([]))
    print(write_results(args.results, per_run(records), report, check, machine_facts(), args, wall_seconds))


if __name__ == "__main__":
    main()
