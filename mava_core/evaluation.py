"""``mava evaluate``: greedy episodes with a saved run's checkpointed policy.

The run is rebuilt from its ``config.json``, its checkpointer checks and loads the policy
variables of the chosen checkpoint into an evaluator's networks, the evaluator's environment
takes over what the executors' environments saved (merged over executors: e.g. the
statistics of normalisation wrappers, as last saved), and the evaluator plays
``episodes`` greedy episodes. The result (mean and spread of the return, mean environment
metrics, every episode's return) is printed and written to ``RUN_DIR/evaluation.json``.
With ``record``, the first episode is saved as a video by whichever plugin implements
``mava_evaluation_record`` (the built-in ``recording`` plugin writes
``RUN_DIR/videos/checkpoint_<ID>.<gif|mp4>``).
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mava_core.contracts import Checkpointer
from mava_core.errors import ConfigError, MavaError

RESULT_FILE = "evaluation.json"


def evaluate_run(
    run_dir: str,
    episodes: int = 10,
    checkpoint_id: Optional[str] = None,
    plugin_manager: Any = None,
    plugins: Sequence[Any] = (),
    record: bool = False,
    record_format: Optional[str] = None,
) -> Dict[str, Any]:
    """Evaluate the latest (or the chosen) checkpoint of the run in ``run_dir``; returns the result."""
    from mava_core.environment_state import restore_merged
    from mava_core.plugins import get_plugin_manager
    from mava_core.saved_runs import builder_from_run_dir
    from mava_core.variables import VariableSource
    from mava_core.workers import summarise_episodes

    if episodes < 1:
        raise ConfigError("--episodes", f"must be >= 1, got {episodes}")
    declared = (plugin_manager if plugin_manager is not None else get_plugin_manager()).run_options
    overrides: List[Tuple[str, Any]] = [("run.checkpoint", True)] if "checkpoint" in declared else []
    if record:
        if "record_eval" not in declared:
            raise MavaError(
                "--record needs a plugin that records videos (run.record_eval); the 'recording' plugin is not loaded"
            )
        overrides += [("run.record_eval", True)] + ([("run.record_format", record_format)] if record_format else [])
    builder = builder_from_run_dir(run_dir, overrides, plugin_manager=plugin_manager, plugins=plugins)
    builder.hooks.mava_evaluation_start(builder=builder)  # e.g. --record: the environment renders
    checkpointer: Optional[Checkpointer] = builder.checkpointer
    if checkpointer is None:
        raise MavaError("mava evaluate needs a checkpointer plugin (mava_checkpointer); none is loaded")
    system = builder.system
    networks = system.make_networks()
    groups = system.policy_variables(networks)
    entry = checkpointer.restore_policy(groups, checkpoint_id)
    loop, executor = builder.make_executor(0, None, VariableSource(groups), evaluation=True)
    restore_merged(checkpointer, loop.environment)  # e.g. the executors' normalisation statistics
    executor.update(wait=True)
    results = []
    video = None
    if record:
        recorded = builder.hooks.mava_evaluation_record(builder=builder, loop=loop, name=f"checkpoint_{entry['id']}")
        if recorded is None:
            raise MavaError(
                "--record: no plugin recorded the episode (no mava_evaluation_record implementation answered)"
            )
        video = recorded.pop("video", None)
        results.append(recorded)
    results += [loop.run_episode() for _ in range(episodes - len(results))]
    loop.environment.close()
    counts = entry["counts"]
    result = {
        "run_dir": os.path.abspath(run_dir),
        "system": builder.run.system,
        "environment": builder.run.environment,
        "checkpoint": entry["id"],
        "env_steps": int(counts.get("env_steps", 0)),
        "trainer_steps": int(counts.get("trainer_steps", 0)),
        "episodes": episodes,
        **summarise_episodes(results),
        "returns": [float(r["episode_return"]) for r in results],
        "video": video,
    }
    with open(os.path.join(run_dir, RESULT_FILE), "w") as handle:
        json.dump(result, handle, indent=2)
    return result


def print_evaluation(result: Dict[str, Any]) -> None:
    print(
        f"checkpoint {result['checkpoint']} of {result['run_dir']}: {result['system']} on {result['environment']}, "
        f"{result['env_steps']} env steps, {result['trainer_steps']} trainer steps"
    )
    print(
        f"greedy evaluation over {result['episodes']} episodes: mean return {result['mean_return']:.2f} "
        f"(± {result['std_return']:.2f}), min {result['min_return']:.2f}, max {result['max_return']:.2f}"
    )
    metrics = {k: v for k, v in result.items() if k.startswith("mean_") and k != "mean_return"}
    if metrics:
        print("metrics: " + ", ".join(f"{key[5:]} {value:.3f}" for key, value in metrics.items()))
    if result.get("video"):
        print(f"recorded the first episode: {os.path.abspath(result['video'])}")
    print(f"wrote {os.path.join(result['run_dir'], RESULT_FILE)}")
