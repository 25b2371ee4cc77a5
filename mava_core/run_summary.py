"""The run summary (``RUN_DIR/summary.json``) and the random-policy baseline it compares against.

The coordinator node writes the summary once the run has ended (the local backend calls it
after every other node closed); ``mava evaluate`` summarises its episodes the same way.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

import numpy as np

from mava_core.run_control import ITEMS_WRITTEN, REPLAY_ITEMS_RECEIVED


def summarise_episodes(results: List[Dict[str, Any]]) -> Dict[str, float]:
    """Mean, spread and extremes of the return over episode results, and the mean of each metric."""
    returns = np.array([r["episode_return"] for r in results])
    summary = {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "max_return": float(returns.max()),
        "min_return": float(returns.min()),
        "mean_team_return": float(np.mean([r["team_return"] for r in results])),
        "mean_episode_length": float(np.mean([r["episode_length"] for r in results])),
    }
    for key in results[0]:
        if key not in ("episode_return", "team_return", "episode_length", "steps_per_second", "episodes", "env_steps"):
            values = [r[key] for r in results if isinstance(r.get(key), (int, float, np.number))]  # numpy metrics too
            if values:
                summary[f"mean_{key}"] = float(np.mean(values))
    return summary


def random_policy_return(builder: Any, episodes: int) -> Optional[float]:
    """Mean per-agent episode return of uniformly random legal actions on the run's task."""
    if episodes <= 0:
        return None
    spec = builder.env_spec
    # the evaluator's environment (run.eval_env_options), so the two returns compare like for like
    environment = builder.make_environment(builder.executor_seed(0, evaluation=True) + 1, **builder.run.eval_env_options)
    rng = np.random.default_rng(builder.run.seed + 7)
    returns = []
    for _ in range(episodes):
        timestep = environment.reset()
        totals = {agent: 0.0 for agent in spec.agents}
        while not timestep.last():
            actions = {}
            for agent, agent_spec in spec.agents.items():
                if agent_spec.discrete:
                    mask = np.asarray(timestep.observation[agent].action_mask)
                    legal = np.flatnonzero(mask > 0) if mask.any() else np.arange(agent_spec.num_actions)
                    actions[agent] = np.int32(rng.choice(legal))
                else:
                    low, high = agent_spec.action.minimum, agent_spec.action.maximum
                    actions[agent] = rng.uniform(low, high, agent_spec.action.shape).astype(np.float32)
            timestep = environment.step(actions)
            for agent, reward in timestep.reward.items():
                totals[agent] += float(reward)
        returns.append(np.mean(list(totals.values())))
    environment.close()
    return float(np.mean(returns))


def write_summary(builder: Any, final: Dict[str, float], history: List[Dict[str, float]], counts: Dict[str, float]) -> Dict[str, Any]:
    """Write ``summary.json``: counts, item accounting, final and best evaluation, random baseline, every evaluation."""
    summary = {
        "system": builder.run.system,
        "environment": builder.run.environment,
        "backend": builder.run.backend,
        "seed": builder.run.seed,
        "env_steps": int(counts.get("env_steps", 0)),
        "trainer_steps": int(counts.get("trainer_steps", 0)),
        "episodes": int(counts.get("episodes", 0)),
        "executor_failures": int(counts.get("executor_failures", 0)),
        # the item accounting since the processes started: what the executors' adders created
        # and what the replay server received (None where the trainer could not read it)
        ITEMS_WRITTEN: int(counts.get(ITEMS_WRITTEN, 0)),
        REPLAY_ITEMS_RECEIVED: int(counts[REPLAY_ITEMS_RECEIVED]) if REPLAY_ITEMS_RECEIVED in counts else None,
        "final_mean_return": final["mean_return"],
        "final_std_return": final["std_return"],
        "best_mean_return": max(h["mean_return"] for h in history),
        "random_return": random_policy_return(builder, builder.run.random_baseline_episodes),
        "evaluations": history,
    }
    path = os.path.join(builder.run.run_dir, "summary.json")
    os.makedirs(builder.run.run_dir, exist_ok=True)
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=2)
    return summary
