"""The workers behind a program's nodes, shared by every backend.

Each worker offers fine-grained calls (``step``, ``act``, ``evaluate``) that the local
backend interleaves in one process, and a ``run()`` loop that process-per-node backends
(Launchpad, Ray) call. Workers build their parts lazily from the builder, inside the process
that runs them.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from mava_core.counting import Counter

# Counter keys of the shutdown handshake: the evaluator requests, the trainer acknowledges.
STOP_REQUESTED = "stop_requested"
TRAINER_STOPPED = "trainer_stopped"
SHUTDOWN_GRACE_SECONDS = 30.0


def make_counter() -> Counter:
    return Counter()


class TrainerWorker:
    """Owns the trainer; serves its variables to executors and evaluator."""

    def __init__(self, builder: Any, replay_address: str, counter: Any):
        self._builder = builder
        self._replay_address = replay_address
        self._counter = counter
        self._trainer = None
        #: set by process-per-node backends: returns True once the program is stopping
        self.should_stop: Callable[[], bool] = lambda: False

    @property
    def trainer(self):
        if self._trainer is None:
            logger = self._builder.make_loggers("trainer", terminal=False)
            self._trainer = self._builder.make_trainer(self._replay_address, self._counter, logger)
        return self._trainer

    def step(self) -> Dict[str, float]:
        return self.trainer.step()

    def get_variables(self, names):
        return self.trainer.get_variables(names)

    def _stop_requested(self, counts: Dict[str, float]) -> bool:
        return self.should_stop() or counts.get(STOP_REQUESTED, 0) > 0

    def run(self) -> None:
        """Train until the evaluator asks the program to wind down, then acknowledge it."""
        trainer = self.trainer
        counts: Dict[str, float] = {}
        while not self._stop_requested(counts):
            try:
                trainer.step()
                counts = trainer.last_counts
            except StopIteration:
                # sampling timed out (executors paused or finished): check for stop, then retry
                counts = self._counter.get_counts()
                trainer.iterator = self._builder.hooks.mava_dataset_iterator(
                    builder=self._builder, server_address=self._replay_address
                )
        if trainer.logger is not None:
            trainer.logger.close()
        self._counter.increment(**{TRAINER_STOPPED: 1})


class ExecutorWorker:
    """Acts in its own environment and writes experience until the run's step budget is spent."""

    def __init__(self, builder: Any, index: int, replay_address: str, variable_source: Any, counter: Any, stop: Callable[[], None]):
        self._builder = builder
        self.index = index
        self._replay_address = replay_address
        self._variable_source = variable_source
        self._counter = counter
        self._stop = stop
        self._loop = None
        self._pending_steps = 0
        self._pending_episodes = 0
        self.env_steps = 0  # the run's total, as last read from the counter
        self.count_every = 50  # steps between counter updates (an RPC under Launchpad)
        self.should_stop: Callable[[], bool] = lambda: False

    @property
    def loop(self):
        if self._loop is None:
            self._loop, executor = self._builder.make_executor(self.index, self._replay_address, self._variable_source)
            self._loop.logger = self._builder.make_loggers(f"executor_{self.index}", terminal=self.index == 0)
            if executor.adder is not None:
                executor.adder.should_stop = self._budget_spent_or_stopping
            executor.update(wait=True)
        return self._loop

    def _budget_spent_or_stopping(self) -> bool:
        """Whether a write blocked by the rate limiter should be abandoned."""
        if self.should_stop():
            return True
        counts = self._counter.get_counts()
        return counts.get("env_steps", 0) >= self._builder.run.env_steps or counts.get(STOP_REQUESTED, 0) > 0

    def _flush_counts(self) -> None:
        counts = self._counter.increment(env_steps=self._pending_steps, episodes=self._pending_episodes)
        self._pending_steps = self._pending_episodes = 0
        self.env_steps = int(counts.get("env_steps", 0))
        self.loop.executor.policy.set_step(self.env_steps)

    def act(self, num_steps: int) -> List[Dict[str, Any]]:
        """Take ``num_steps`` environment steps; returns the results of episodes that ended."""
        loop = self.loop
        results = []
        for _ in range(num_steps):
            result = loop.step()
            self._pending_steps += 1
            if result is not None:
                self._pending_episodes += 1
                self._flush_counts()
                result["env_steps"] = self.env_steps
                if loop.logger is not None:
                    loop.logger.write(result)
                results.append(result)
            elif self._pending_steps >= self.count_every:
                self._flush_counts()
        return results

    def run(self) -> None:
        budget = self._builder.run.env_steps
        while self.env_steps < budget and not self.should_stop():
            self.act(1)
        self.close()

    def close(self) -> None:
        """Report the last counts and close the logs."""
        if self._pending_steps or self._pending_episodes:
            self._flush_counts()
        if self._loop is not None and self._loop.logger is not None:
            self._loop.logger.close()


class EvaluatorWorker:
    """Runs greedy evaluation episodes every ``eval_every`` env steps and writes the run summary."""

    def __init__(self, builder: Any, variable_source: Any, counter: Any, stop: Callable[[], None]):
        self._builder = builder
        self._variable_source = variable_source
        self._counter = counter
        self._stop = stop
        self._loop = None
        self._logger = None
        self.history: List[Dict[str, float]] = []
        self.next_evaluation = 0
        self.should_stop: Callable[[], bool] = lambda: False

    @property
    def loop(self):
        if self._loop is None:
            self._loop, _ = self._builder.make_executor(0, None, self._variable_source, evaluation=True)
            self._logger = self._builder.make_loggers("evaluator")
        return self._loop

    def evaluate(self, env_steps: int) -> Dict[str, float]:
        loop = self.loop
        loop.executor.update(wait=True)
        results = [loop.run_episode() for _ in range(self._builder.run.eval_episodes)]
        returns = np.array([r["episode_return"] for r in results])
        summary = {
            "env_steps": env_steps,
            "trainer_steps": int(self._counter.get_counts().get("trainer_steps", 0)),
            "mean_return": float(returns.mean()),
            "std_return": float(returns.std()),
            "max_return": float(returns.max()),
            "min_return": float(returns.min()),
            "mean_team_return": float(np.mean([r["team_return"] for r in results])),
            "mean_episode_length": float(np.mean([r["episode_length"] for r in results])),
        }
        for key in results[0]:
            if key not in ("episode_return", "team_return", "episode_length", "steps_per_second", "episodes", "env_steps"):
                values = [r[key] for r in results if isinstance(r.get(key), (int, float))]
                if values:
                    summary[f"mean_{key}"] = float(np.mean(values))
        self.history.append(summary)
        self._logger.write(summary)
        return summary

    def maybe_evaluate(self, env_steps: int) -> Optional[Dict[str, float]]:
        if env_steps >= self.next_evaluation:
            self.next_evaluation = (env_steps // self._builder.run.eval_every + 1) * self._builder.run.eval_every
            return self.evaluate(env_steps)
        return None

    def finish(self, env_steps: int) -> Dict[str, Any]:
        """Final evaluation (unless one just ran at this step count), random baseline, summary.json."""
        if self.history and self.history[-1]["env_steps"] == env_steps:
            final = self.history[-1]
        else:
            final = self.evaluate(env_steps)
        summary = write_summary(self._builder, final, self.history, self._counter.get_counts())
        if self._logger is not None:
            self._logger.close()
        return summary

    def run(self) -> None:
        budget = self._builder.run.env_steps
        while not self.should_stop():
            env_steps = int(self._counter.get_counts().get("env_steps", 0))
            if env_steps >= budget:
                break
            if self.maybe_evaluate(env_steps) is None:
                time.sleep(0.5)
        if not self.should_stop():
            self.finish(env_steps)
        # wind down in order: the trainer finishes its step and acknowledges, then stop all
        self._counter.increment(**{STOP_REQUESTED: 1})
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        while time.monotonic() < deadline and not self._counter.get_counts().get(TRAINER_STOPPED):
            time.sleep(0.2)
        self._stop()


def random_policy_return(builder: Any, episodes: int) -> Optional[float]:
    """Mean per-agent episode return of uniformly random legal actions on the run's task."""
    if episodes <= 0:
        return None
    from mava_core.specs import AgentObservation  # noqa: F401 - documents the observation type

    spec = builder.env_spec
    environment = builder.make_environment(builder.executor_seed(0, evaluation=True) + 1)
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
    summary = {
        "system": builder.run.system,
        "environment": builder.run.environment,
        "backend": builder.run.backend,
        "seed": builder.run.seed,
        "env_steps": int(counts.get("env_steps", 0)),
        "trainer_steps": int(counts.get("trainer_steps", 0)),
        "episodes": int(counts.get("episodes", 0)),
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
