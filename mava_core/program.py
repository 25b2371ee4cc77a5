"""A program: the nodes of a run (replay, counter, trainer, executors, evaluator) as a description.

Backends turn a program into processes (Launchpad), actors (Ray) or one interleaved loop
(local). Plugins may add, remove or replace nodes in ``mava_program_build_nodes``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional

REPLAY, COUNTER, TRAINER, EXECUTOR, EVALUATOR, CUSTOM = "replay", "counter", "trainer", "executor", "evaluator", "custom"
ROLES = (REPLAY, COUNTER, TRAINER, EXECUTOR, EVALUATOR, CUSTOM)


@dataclasses.dataclass
class Node:
    """One node: a name, a role that tells backends how to wire it, and its factory.

    Factories by role (keyword arguments are handles to other nodes):
    ``replay: make() -> list of reverb.Table``; ``counter: make() -> Counter``;
    ``trainer: make(replay_address, counter) -> TrainerWorker``;
    ``executor: make(replay_address, variable_source, counter, stop) -> ExecutorWorker``;
    ``evaluator: make(variable_source, counter, stop) -> EvaluatorWorker``;
    ``custom: make(replay_address, variable_source, counter, stop)`` -> object with ``step()``
    (called once per round by the local backend) and ``run()`` (the whole life of the node
    under a process-per-node backend).
    """

    name: str
    role: str
    make: Callable[..., Any]
    resources: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"node {self.name!r}: unknown role {self.role!r}; roles are {', '.join(ROLES)}")


class Program:
    """An ordered collection of nodes with unique names."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: List[Node] = []

    def add(self, node: Node) -> Node:
        if any(existing.name == node.name for existing in self.nodes):
            raise ValueError(f"program {self.name!r} already has a node named {node.name!r}")
        self.nodes.append(node)
        return node

    def remove(self, name: str) -> Node:
        for index, node in enumerate(self.nodes):
            if node.name == name:
                return self.nodes.pop(index)
        raise KeyError(name)

    def by_role(self, role: str) -> List[Node]:
        return [node for node in self.nodes if node.role == role]

    def one(self, role: str) -> Optional[Node]:
        nodes = self.by_role(role)
        if len(nodes) > 1:
            raise ValueError(f"program {self.name!r} has {len(nodes)} {role} nodes; this backend supports one")
        return nodes[0] if nodes else None

    def __repr__(self) -> str:
        return f"Program({self.name!r}, nodes=[{', '.join(n.name for n in self.nodes)}])"
