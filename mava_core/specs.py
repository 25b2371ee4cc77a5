"""Multi-agent specs and observations on top of :mod:`dm_env`.

A multi-agent environment returns ``dm_env.TimeStep`` objects whose ``observation``,
``reward`` and ``discount`` are dictionaries keyed by agent id. Each agent's observation
is an :class:`AgentObservation`: the observation array and a mask of the actions the
agent may take now (all ones for environments without masks).
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, NamedTuple, Optional

import numpy as np
from dm_env import specs

PARALLEL = "parallel"
SEQUENTIAL = "sequential"


class AgentObservation(NamedTuple):
    """One agent's view at one step: its observation and its legal-action mask."""

    observation: np.ndarray
    action_mask: np.ndarray


@dataclasses.dataclass(frozen=True)
class AgentSpec:
    """What one agent observes, does and is paid."""

    observation: specs.Array
    action: specs.Array  # DiscreteArray for discrete actions, BoundedArray for continuous
    reward: specs.Array = specs.Array((), np.float32, "reward")
    discount: specs.BoundedArray = specs.BoundedArray((), np.float32, 0.0, 1.0, "discount")

    @property
    def discrete(self) -> bool:
        return isinstance(self.action, specs.DiscreteArray)

    @property
    def num_actions(self) -> int:
        """Number of discrete actions, or the size of the continuous action vector."""
        if self.discrete:
            return int(self.action.num_values)
        return int(np.prod(self.action.shape))

    def mask_spec(self) -> specs.Array:
        """Spec of the legal-action mask (one entry per discrete action)."""
        return specs.Array((self.num_actions,), np.float32, "action_mask")


@dataclasses.dataclass(frozen=True)
class MultiAgentSpec:
    """Per-agent specs of an environment, plus optional global state and its turn order."""

    agents: Dict[str, AgentSpec]
    state: Optional[specs.Array] = None
    has_action_masks: bool = False
    kind: str = PARALLEL  # PARALLEL: all agents act each step; SEQUENTIAL: one agent per step

    @property
    def agent_ids(self) -> List[str]:
        return list(self.agents)

    @property
    def num_agents(self) -> int:
        return len(self.agents)

    @property
    def discrete(self) -> bool:
        return all(agent.discrete for agent in self.agents.values())

    @property
    def continuous(self) -> bool:
        return not any(agent.discrete for agent in self.agents.values())

    def homogeneous(self) -> bool:
        """True when every agent has the same observation and action spec (weights can be shared)."""
        first = next(iter(self.agents.values()))
        return all(
            agent.observation.shape == first.observation.shape
            and agent.observation.dtype == first.observation.dtype
            and _same_action_spec(agent.action, first.action)
            for agent in self.agents.values()
        )


def _same_action_spec(a: specs.Array, b: specs.Array) -> bool:
    if type(a) is not type(b) or a.shape != b.shape or a.dtype != b.dtype:
        return False
    if isinstance(a, specs.DiscreteArray):
        return a.num_values == b.num_values
    if isinstance(a, specs.BoundedArray):
        return np.array_equal(a.minimum, b.minimum) and np.array_equal(a.maximum, b.maximum)
    return True


def agent_type(agent_id: str) -> str:
    """The type of an agent from its id: ``"adversary_0"`` -> ``"adversary"``.

    Agents of one type share weights when weight sharing is on.
    """
    head, _, tail = agent_id.rpartition("_")
    return head if head and tail.isdigit() else agent_id
