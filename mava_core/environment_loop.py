"""The environment loop: runs an executor in an environment, episode by episode.

Fires ``mava_env_loop_episode_start``, ``mava_env_loop_step`` and
``mava_env_loop_episode_end``; an episode's result (returns, length, steps/s and the
environment's own metrics) goes to the loggers after the end hook has added to it.
:class:`SequentialEnvironmentLoop` runs turn-based environments.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from mava_core.environment_state import saved_state_of
from mava_core.errors import EnvironmentFailure, MavaError


class EnvironmentLoop:
    """Steps one environment with one executor; can run whole episodes or single steps."""

    def __init__(
        self,
        environment: Any,
        executor: Any,
        hooks: Any,
        logger: Any = None,
        counter: Any = None,
        label: str = "executor",
        should_update: bool = True,
    ):
        self.environment = environment
        self.executor = executor
        self.logger = logger
        self.counter = counter
        self.label = label
        self._hooks = hooks
        self._step_hook = hooks.mava_env_loop_step
        self._should_update = should_update
        self._timestep = None
        self._episode_returns: Dict[str, float] = {}
        self._episode_length = 0
        self._episode_start = 0.0
        self.episodes = 0
        self.steps = 0
        #: makes a fresh environment (argument: how many times this loop replaced one); set by the builder
        self.environment_factory: Optional[Callable[[int], Any]] = None
        self.restarts = 0

    def _call_environment(self, method: Callable[..., Any], *args: Any) -> Any:
        """Call the environment; its own errors become :class:`EnvironmentFailure` (Mava's pass through)."""
        try:
            return method(*args)
        except MavaError:
            raise
        except Exception as error:  # noqa: BLE001 - any error of the environment's own
            raise EnvironmentFailure(self.label, error, loop=self) from error

    def replace_environment(self) -> None:
        """Close the failed environment (as far as it can be) and start over in a fresh one.

        The unfinished episode is dropped: its steps already written stay in the replay table,
        the adder starts a new episode with the next ``observe_first``. What the old environment
        carries over (``saved_state``, e.g. a wrapper's normalisation statistics) goes on in the
        new one.
        """
        if self.environment_factory is None:
            raise RuntimeError(f"{self.label}: this loop has no environment factory to restart from")
        carried = saved_state_of(self.environment)
        try:
            self.environment.close()
        except Exception:  # noqa: BLE001, S110 - a failed environment may not close cleanly
            pass
        self.restarts += 1
        self.environment = self.environment_factory(self.restarts)
        if carried:
            self.environment.restore_saved_state(carried)
        self.executor.use_environment(self.environment)
        self._timestep = None

    # ------------------------------------------------------------------ stepping
    def _begin_episode(self) -> None:
        timestep = self._call_environment(self.environment.reset)
        self._timestep = timestep
        self._episode_returns = {agent: 0.0 for agent in timestep.observation}
        self._episode_length = 0
        self._episode_start = time.perf_counter()
        self.executor.observe_first(timestep)
        self._hooks.mava_env_loop_episode_start(loop=self, timestep=timestep)

    #: environment copies one call of :meth:`step_batch` advances (see ``VectorEnvironmentLoop``)
    num_envs = 1

    @property
    def executors(self) -> List[Any]:
        """The executors acting in this loop's environments (one here)."""
        return [self.executor]

    def step_batch(self) -> List[Dict[str, Any]]:
        """Advance every environment copy one step; the results of the episodes that ended."""
        result = self.step()
        return [] if result is None else [result]

    def close(self) -> None:
        """Close the environment (e.g. free a game server's slots)."""
        self.environment.close()

    def ready_observations(self) -> Any:
        """Start an episode if none is running; the observations the next actions are chosen for."""
        if self._timestep is None or self._timestep.last():
            self._begin_episode()
        return self._timestep.observation

    def step(self) -> Optional[Dict[str, Any]]:
        """Take one environment step; returns the episode result when this step ended it."""
        actions = self.executor.select_actions(self.ready_observations())
        return self.advance(actions)

    def advance(self, actions: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Step the environment with ``actions`` (chosen for ``ready_observations()``): observe, update, count."""
        timestep = self._call_environment(self.environment.step, self._environment_actions(actions))
        self.executor.observe(actions, timestep)
        if self._should_update:
            self.executor.update()
        self._step_hook(loop=self, actions=actions, timestep=timestep)
        returns = self._episode_returns
        for agent, reward in timestep.reward.items():
            returns[agent] += float(reward)
        self._episode_length += 1
        self.steps += 1
        self._timestep = timestep
        if timestep.last():
            return self._end_episode()
        return None

    def _environment_actions(self, actions: Dict[str, Any]) -> Dict[str, Any]:
        """The actions passed to the environment; every agent's here (the executor sees all of them)."""
        return actions

    def _episode_extras(self) -> Dict[str, Any]:
        """Keys a subclass adds to each episode result, before the environment's metrics."""
        return {}

    def _end_episode(self) -> Dict[str, Any]:
        self.episodes += 1
        elapsed = max(time.perf_counter() - self._episode_start, 1e-9)
        returns = np.array(list(self._episode_returns.values()), dtype=np.float64)
        result: Dict[str, Any] = {
            "episode_length": self._episode_length,
            "episode_return": float(returns.mean()),  # mean over agents of each agent's return
            "team_return": float(returns.sum()),
            "steps_per_second": self._episode_length / elapsed,
            "episodes": self.episodes,
        }
        result.update(self._episode_extras())
        result.update(self.environment.metrics())
        self._hooks.mava_env_loop_episode_end(loop=self, result=result)
        return result

    def run_episode(self) -> Dict[str, Any]:
        """Run one whole episode (starting a new one) and return its result."""
        self._timestep = None
        while True:
            result = self.step()
            if result is not None:
                return result

    def run(
        self,
        num_episodes: Optional[int] = None,
        num_steps: Optional[int] = None,
        should_stop: Optional[Callable[[], bool]] = None,
        on_episode: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> int:
        """Run until ``num_episodes`` or ``num_steps`` or ``should_stop()``; returns steps taken."""
        start_steps, episodes = self.steps, 0
        while True:
            if num_episodes is not None and episodes >= num_episodes:
                break
            if num_steps is not None and self.steps - start_steps >= num_steps:
                break
            if should_stop is not None and should_stop():
                break
            result = self.step()
            if result is not None:
                episodes += 1
                if on_episode is not None:
                    on_episode(result)
        return self.steps - start_steps


class SequentialEnvironmentLoop(EnvironmentLoop):
    """The loop for turn-based environments (``MultiAgentSpec.kind == SEQUENTIAL``).

    The executor still acts and observes for every agent in one batched call (datasets store
    joint steps); only the agents named by ``environment.current_agents()`` have their
    actions passed to the environment. Each episode result adds, per agent, the turns it
    took (``turns_<agent>``) and its own return (``return_<agent>``; in a zero-sum game
    the mean ``episode_return`` is always 0).
    """

    def _begin_episode(self) -> None:
        super()._begin_episode()
        self._turns = dict.fromkeys(self._episode_returns, 0)

    def _environment_actions(self, actions: Dict[str, Any]) -> Dict[str, Any]:
        acting = {}
        for agent in self.environment.current_agents():
            acting[agent] = actions[agent]
            self._turns[agent] += 1
        return acting

    def _episode_extras(self) -> Dict[str, Any]:
        extras: Dict[str, Any] = {f"turns_{agent}": turns for agent, turns in self._turns.items()}
        extras.update({f"return_{agent}": value for agent, value in self._episode_returns.items()})
        return extras
