"""Adders: turn an executor's stream of timesteps into Reverb items."""
from __future__ import annotations

import collections
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import numpy as np

from mava_core.specs import MultiAgentSpec
from mava_plugins.datasets.transition_writers import SingleTransitionWriter


class NStepTransitionAdder:
    """Writes n-step transitions (n=1: plain transitions) for all agents, one transition per step.

    For each step t it writes the transition from t to t+n with the discounted reward sum and
    the product of discount factors (which includes ``gamma``); at the end of an episode the
    remaining, shorter transitions are flushed so every step is written exactly once.
    ``writer`` sends them (:mod:`~mava_plugins.datasets.transition_writers`): by default one
    Reverb item each; a block writer shared by an executor's copies sends blocks of them.

    Rewards and discounts are kept as ``[agents]`` arrays, so the n-step sums are vector
    operations; in the stacked layout observations, masks and actions are ``[agents, ...]``
    arrays from the start (one ``np.array`` per field and step), in the per-agent layout dicts.
    """

    def __init__(self, client: Any, table: str, spec: MultiAgentSpec, n_step: int, gamma: float, priority: float = 1.0,
                 stacked: bool = False, writer: Optional[Any] = None):
        self._writer = writer if writer is not None else SingleTransitionWriter(client, table, priority)
        self._agents = list(spec.agents)
        self._stacked = stacked  # the table's stacked layout (see mava_plugins.datasets.transitions)
        self._with_state = spec.state is not None
        self._n = int(n_step)
        self._gamma = np.float32(gamma)
        self._action_dtypes = {a: (np.int32 if s.discrete else np.float32) for a, s in spec.agents.items()}
        self._action_shapes = {a: (() if s.discrete else tuple(s.action.shape)) for a, s in spec.agents.items()}
        # pending steps: (observations, masks, state, actions, rewards [agents], discounts [agents])
        self._pending: Deque[Tuple] = collections.deque()
        self._last: Optional[Tuple[Any, Any, Any]] = None
        self.items_written = 0
        #: set by the executor's worker: whether a blocked write may be abandoned
        self.should_stop = lambda: False

    def _split(self, timestep) -> Tuple[Any, Any]:
        """The step's observations and legal-action masks, in the table's layout."""
        if self._stacked:
            views = [timestep.observation[agent] for agent in self._agents]
            # np.array of a list is several times cheaper than np.stack for a few small arrays
            return (np.array([v.observation for v in views], np.float32),
                    np.array([v.action_mask for v in views], np.float32))
        observations, masks = {}, {}
        for agent in self._agents:
            agent_obs = timestep.observation[agent]
            observations[agent] = np.asarray(agent_obs.observation, dtype=np.float32)
            masks[agent] = np.asarray(agent_obs.action_mask, dtype=np.float32)
        return observations, masks

    def _typed_actions(self, actions: Dict[str, Any]) -> Any:
        typed = {a: np.asarray(actions[a], dtype=self._action_dtypes[a]) if a in actions else self._noop(a) for a in self._agents}
        return stack_agents(typed, self._agents) if self._stacked else typed

    def _per_agent(self, values: np.ndarray) -> Any:
        """An ``[agents]`` array as the table stores it: as is (stacked) or a dict of float32 scalars."""
        return values if self._stacked else {a: values[i] for i, a in enumerate(self._agents)}

    def add_first(self, timestep, extras: Dict[str, Any]) -> None:
        observations, masks = self._split(timestep)
        self._pending.clear()
        self._last = (observations, masks, extras.get("state"))

    def add(self, actions: Dict[str, Any], next_timestep, extras: Dict[str, Any]) -> None:
        if self._last is None:
            raise RuntimeError("adder.add called before add_first")
        observations, masks, state = self._last
        rewards = np.array([next_timestep.reward[a] for a in self._agents], np.float32)
        discounts = np.array([next_timestep.discount[a] for a in self._agents], np.float32)
        self._pending.append((observations, masks, state, self._typed_actions(actions), rewards, discounts))
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
        total = np.zeros(len(self._agents), np.float32)
        scale = np.ones(len(self._agents), np.float32)
        for _, _, _, _, rewards, discounts in self._pending:
            total += scale * rewards
            scale *= self._gamma * discounts
        item: Dict[str, Any] = {
            "observations": observations,
            "masks": masks,
            "actions": actions,
            "rewards": self._per_agent(total),
            "discounts": self._per_agent(scale),
            "next_observations": next_observations,
            "next_masks": next_masks,
        }
        if self._with_state:
            item["state"] = np.asarray(state, np.float32)
            item["next_state"] = np.asarray(next_state, np.float32)
        # a shared block writer credits the item to the copy whose transition completed the block
        self.items_written += self._writer.write(item, self.should_stop)

    def flush(self, should_stop: Optional[Callable[[], bool]] = None) -> None:
        """Send every pending item (with ``should_stop``: until it says to give up)."""
        self._writer.flush(should_stop)

    def close(self) -> None:
        self._writer.close()


def stack_agents(values: Dict[str, Any], agents: List[str]):
    """Stack per-agent numpy values in the given order (helper for batched policies)."""
    return np.array([values[a] for a in agents])
