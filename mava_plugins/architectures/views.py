"""Architectures: which agents share networks, and what each agent's critic sees.

Every architecture answers two questions for a system:

* ``groups(spec)``: network key -> agents that use that network. With ``shared_weights``
  agents of one type (``agent_0``, ``agent_1`` -> ``agent``) share a network when their specs
  allow it; otherwise each agent gets its own.
* ``critic_inputs(agent, observations, actions, state)``: the input of ``agent``'s critic (or
  value function), built from per-agent batches. ``critic_input_size(spec, agent)`` is its width.

Actions handed to ``critic_inputs`` are float vectors per agent (one-hot or relaxed for
discrete actions); pass ``actions=None`` for a value function of observations or state only.
The subclasses differ only in which agents (and whether the global state) a critic sees.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from mava_core.errors import ConfigError
from mava_core.specs import MultiAgentSpec, agent_type


def _flat_size(array_spec: Any) -> int:
    return int(np.prod(array_spec.shape)) if array_spec.shape else 1


class Decentralised:
    """Each agent's critic sees its own observation (and its own action)."""

    @dataclasses.dataclass
    class Config:
        shared_weights: bool = True

    #: whether critics read the environment's global state
    uses_state = False

    def __init__(self, config: "Decentralised.Config"):
        self.config = config

    # ------------------------------------------------------------ weight sharing
    def network_keys(self, spec: MultiAgentSpec) -> Dict[str, str]:
        """Agent id -> network key. Shared weights group agents by type (``agent_0`` -> ``agent``)."""
        if not self.config.shared_weights:
            return {agent: agent for agent in spec.agents}
        keys = {agent: agent_type(agent) for agent in spec.agents}
        for key in set(keys.values()):
            members = [spec.agents[a] for a, k in keys.items() if k == key]
            first = members[0]
            for other in members[1:]:
                if other.observation.shape != first.observation.shape or other.num_actions != first.num_actions:
                    return {agent: agent for agent in spec.agents}  # heterogeneous agents cannot share
        return keys

    def groups(self, spec: MultiAgentSpec) -> Dict[str, List[str]]:
        """Network key -> the agents that use it, in the spec's agent order."""
        groups: Dict[str, List[str]] = {}
        for agent, key in self.network_keys(spec).items():
            groups.setdefault(key, []).append(agent)
        return groups

    # ------------------------------------------------------------------ critics
    def visible_agents(self, spec: MultiAgentSpec, agent: str) -> List[str]:
        """Agents whose observations and actions ``agent``'s critic sees (itself first)."""
        return [agent]

    def check(self, spec: MultiAgentSpec, environment: str) -> None:
        """Raise ConfigError when this architecture cannot serve an environment with this spec."""
        if self.uses_state and spec.state is None:
            raise ConfigError(
                "architecture", f"{type(self).__name__.lower()} critics need a global state, which {environment} does not provide"
            )

    def critic_input_size(self, spec: MultiAgentSpec, agent: str, with_actions: bool = True) -> int:
        size = _flat_size(spec.state) if self.uses_state else 0
        for other in self.visible_agents(spec, agent):
            if not self.uses_state:
                size += _flat_size(spec.agents[other].observation)
            if with_actions:
                size += spec.agents[other].num_actions
        return size

    def critic_inputs(
        self,
        spec: MultiAgentSpec,
        agent: str,
        observations: Mapping[str, Any],
        actions: Optional[Mapping[str, Any]] = None,
        state: Any = None,
    ):
        """``[B, critic_input_size]``: concatenated inputs of ``agent``'s critic (TensorFlow)."""
        import tensorflow as tf

        parts = []
        if self.uses_state:
            parts.append(tf.reshape(tf.cast(state, tf.float32), (tf.shape(state)[0], -1)))
        for other in self.visible_agents(spec, agent):
            if not self.uses_state:
                obs = tf.cast(observations[other], tf.float32)
                parts.append(tf.reshape(obs, (tf.shape(obs)[0], -1)))
            if actions is not None:
                parts.append(tf.cast(actions[other], tf.float32))
        return parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)


class Centralised(Decentralised):
    """Each agent's critic sees every agent's observation and action."""

    def visible_agents(self, spec: MultiAgentSpec, agent: str) -> List[str]:
        return [agent] + [other for other in spec.agents if other != agent]


class StateBased(Centralised):
    """Each agent's critic sees the environment's global state and every agent's action."""

    uses_state = True


class Networked(Decentralised):
    """Each agent's critic sees itself and its neighbours in a connection graph.

    ``graph`` is ``ring`` (agent i with i-1 and i+1), ``line`` (the ring without its closing
    edge), ``full`` (everyone: the centralised critic) or explicit undirected edges between
    agent ids, e.g. ``agent_0-agent_1,agent_1-agent_2``.
    """

    @dataclasses.dataclass
    class Config:
        shared_weights: bool = True
        graph: str = dataclasses.field(default="ring", metadata={"help": "ring, line, full, or edges like a-b,b-c"})

    def neighbours(self, spec: MultiAgentSpec) -> Dict[str, List[str]]:
        agents = list(spec.agents)
        graph = self.config.graph.strip()
        edges: List[Sequence[str]] = []
        if graph in ("ring", "line"):
            edges = [(agents[i], agents[i + 1]) for i in range(len(agents) - 1)]
            if graph == "ring" and len(agents) > 2:
                edges.append((agents[-1], agents[0]))
        elif graph == "full":
            edges = [(a, b) for i, a in enumerate(agents) for b in agents[i + 1 :]]
        else:
            for item in graph.split(","):
                ends = [part.strip() for part in item.split("-")]
                if len(ends) != 2 or not all(ends):
                    raise ConfigError("architecture.graph", f"edges are written a-b,b-c; could not read {item!r}")
                for end in ends:
                    if end not in spec.agents:
                        raise ConfigError("architecture.graph", f"unknown agent {end!r}; agents are {', '.join(agents)}")
                edges.append(ends)
        result: Dict[str, List[str]] = {agent: [] for agent in agents}
        for a, b in edges:
            if b not in result[a]:
                result[a].append(b)
            if a not in result[b]:
                result[b].append(a)
        return result

    def check(self, spec: MultiAgentSpec, environment: str) -> None:
        self.neighbours(spec)

    def visible_agents(self, spec: MultiAgentSpec, agent: str) -> List[str]:
        neighbours = self.neighbours(spec)[agent]
        return [agent] + [other for other in spec.agents if other in neighbours]
