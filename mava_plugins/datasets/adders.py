"""Adders: turn an executor's stream of timesteps into Reverb items."""
from __future__ import annotations

import collections
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import numpy as np

from mava_core.specs import MultiAgentSpec
from mava_plugins.datasets.sequences import flush_all, flush_in_slices
from mava_plugins.datasets.transitions import PER_AGENT_FIELDS

#: unconfirmed items an adder lets pile up before it waits for the server (Reverb warns above ~50)
MAX_IN_FLIGHT_ITEMS = 24
#: how often (in items written) the adder checks that bound
BOUND_EVERY_ITEMS = 8


class NStepTransitionAdder:
    """Writes n-step transitions (n=1: plain transitions) for all agents as one item per step.

    For each step t it writes the transition from t to t+n with the discounted reward sum and
    the product of discount factors (which includes ``gamma``); at the end of an episode the
    remaining, shorter transitions are flushed so every step is written exactly once.
    """

    def __init__(self, client: Any, table: str, spec: MultiAgentSpec, n_step: int, gamma: float, priority: float = 1.0,
                 stacked: bool = False):
        self._writer = client.trajectory_writer(num_keep_alive_refs=1)
        self._table = table
        self._agents = list(spec.agents)
        self._stacked = stacked  # the table's stacked layout (see mava_plugins.datasets.transitions)
        self._with_state = spec.state is not None
        self._n = int(n_step)
        self._gamma = np.float32(gamma)
        self._priority = priority
        self._action_dtypes = {a: (np.int32 if s.discrete else np.float32) for a, s in spec.agents.items()}
        self._action_shapes = {a: (() if s.discrete else tuple(s.action.shape)) for a, s in spec.agents.items()}
        # pending steps: (observations, masks, state, actions, rewards, discounts)
        self._pending: Deque[Tuple] = collections.deque()
        self._last: Optional[Tuple[Dict, Dict, Any]] = None
        self.items_written = 0
        #: set by the executor's worker: whether a blocked write may be abandoned
        self.should_stop = lambda: False

    def _split(self, timestep) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
        observations, masks = {}, {}
        for agent in self._agents:
            agent_obs = timestep.observation[agent]
            observations[agent] = np.asarray(agent_obs.observation, dtype=np.float32)
            masks[agent] = np.asarray(agent_obs.action_mask, dtype=np.float32)
        return observations, masks

    def add_first(self, timestep, extras: Dict[str, Any]) -> None:
        observations, masks = self._split(timestep)
        self._pending.clear()
        self._last = (observations, masks, extras.get("state"))

    def add(self, actions: Dict[str, Any], next_timestep, extras: Dict[str, Any]) -> None:
        if self._last is None:
            raise RuntimeError("adder.add called before add_first")
        observations, masks, state = self._last
        rewards = {a: np.float32(next_timestep.reward[a]) for a in self._agents}
        discounts = {a: np.float32(next_timestep.discount[a]) for a in self._agents}
        typed_actions = {a: np.asarray(actions[a], dtype=self._action_dtypes[a]) if a in actions else self._noop(a) for a in self._agents}
        self._pending.append((observations, masks, state, typed_actions, rewards, discounts))
        next_observations, next_masks = self._split(next_timestep)
        next_state = extras.get("state")
        self._last = (next_observations, next_masks, next_state)
        if len(self._pending) == self._n:
            self._write(next_observations, next_masks, next_state)
            self._pending.popleft()
        if next_timestep.last():
            while self._pending:
                self._write(next_observations, next_masks, next_state)
                self._pending.popleft()
            self._last = None

    def _noop(self, agent: str):
        """Placeholder action for an agent that did not act (it was done): zeros."""
        return np.zeros(self._action_shapes[agent], self._action_dtypes[agent])

    def _write(self, next_observations, next_masks, next_state) -> None:
        observations, masks, state, actions, _, _ = self._pending[0]
        total = {a: np.float32(0.0) for a in self._agents}
        scale = {a: np.float32(1.0) for a in self._agents}
        for _, _, _, _, rewards, discounts in self._pending:
            for a in self._agents:
                total[a] += scale[a] * rewards[a]
                scale[a] *= self._gamma * discounts[a]
        item: Dict[str, Any] = {
            "observations": observations,
            "masks": masks,
            "actions": actions,
            "rewards": total,
            "discounts": scale,
            "next_observations": next_observations,
            "next_masks": next_masks,
        }
        if self._with_state:
            item["state"] = np.asarray(state, np.float32)
            item["next_state"] = np.asarray(next_state, np.float32)
        if self._stacked:  # one [agents, ...] array per per-agent field
            item.update({field: stack_agents(item[field], self._agents) for field in PER_AGENT_FIELDS})
        self._writer.append(item)
        trajectory = _last_step(self._writer.history)
        self._writer.create_item(self._table, self._priority, trajectory)
        self.items_written += 1
        if self.items_written % BOUND_EVERY_ITEMS == 0:
            self._bound_in_flight_items()

    def _bound_in_flight_items(self) -> None:
        """Wait (the rate limiter's back-pressure) until few items are unconfirmed; never past ``should_stop()``."""
        flush_in_slices(self._writer, MAX_IN_FLIGHT_ITEMS, self.should_stop)

    def flush(self, should_stop: Optional[Callable[[], bool]] = None) -> None:
        """Send every pending item (with ``should_stop``: until it says to give up)."""
        flush_all(self._writer, should_stop)

    def close(self) -> None:
        self._writer.close()


def _last_step(history: Any) -> Any:
    if isinstance(history, dict):
        return {k: _last_step(v) for k, v in history.items()}
    return history[-1]


def stack_agents(values: Dict[str, Any], agents: List[str]):
    """Stack per-agent numpy values in the given order (helper for batched policies)."""
    return np.stack([values[a] for a in agents])
