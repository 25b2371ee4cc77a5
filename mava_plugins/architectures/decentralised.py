"""The decentralised architecture: each agent's networks see only its own observation."""
from __future__ import annotations

import dataclasses
from typing import Dict, List

from mava_core.specs import MultiAgentSpec, agent_type


class Decentralised:
    """Maps agents to network keys: one network per agent type (shared) or one per agent."""

    @dataclasses.dataclass
    class Config:
        shared_weights: bool = True

    def __init__(self, config: "Decentralised.Config"):
        self.config = config

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
