"""A program: the nodes of a run (replay, counter, trainer, executors, evaluator, coordinator).

Backends turn a program into processes (Launchpad), actors (Ray) or one interleaved loop
(local). Plugins may add, remove or replace nodes in ``mava_program_build_nodes``; a program
that lacks a node the run needs is refused before anything starts (:func:`check_program`).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Any, Callable, Dict, List, Optional

from mava_core.errors import PluginError

REPLAY, COUNTER, TRAINER, EXECUTOR, EVALUATOR = "replay", "counter", "trainer", "executor", "evaluator"
COORDINATOR, CUSTOM = "coordinator", "custom"
ROLES = (REPLAY, COUNTER, TRAINER, EXECUTOR, EVALUATOR, COORDINATOR, CUSTOM)
#: the roles every program needs (one node each; executors: at least one), and why
REQUIRED_ROLES = {
    REPLAY: "it serves the dataset the executors write and the trainer samples",
    COUNTER: "it holds the run's step counts and the shutdown handshake",
    TRAINER: "it trains the networks and serves their variables",
    EXECUTOR: "it acts in the environment: without one the step budget is never spent",
    EVALUATOR: "it plays the final evaluation that summary.json reports",
    COORDINATOR: "it ends the run (step and time budgets, Ctrl-C/SIGTERM, a failed node) and writes summary.json",
}


@dataclasses.dataclass
class Node:
    """One node: a name, a role that tells backends how to wire it, and its factory.

    Factories by role (keyword arguments are handles to other nodes):
    ``replay: make() -> list of reverb.Table``; ``counter: make() -> Counter``;
    ``trainer: make(replay_address, counter) -> TrainerWorker``;
    ``executor: make(replay_address, variable_source, counter, stop) -> ExecutorWorker``;
    ``evaluator: make(variable_source, counter, stop) -> EvaluatorWorker``;
    ``coordinator: make(counter, stop) -> CoordinatorWorker``;
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

    def required(self, role: str) -> Node:
        """The one node of ``role``; a program without one is refused (see :func:`check_program`)."""
        node = self.one(role)
        if node is None:
            raise PluginError(f"program {self.name!r} has no {role} node; the run needs one")
        return node

    def __repr__(self) -> str:
        return f"Program({self.name!r}, nodes=[{', '.join(n.name for n in self.nodes)}])"


def check_program(program: Program) -> None:
    """Refuse a program that lacks a node the run needs, or has two of a node there must be one of."""
    for role, why in REQUIRED_ROLES.items():
        nodes = program.by_role(role)
        if not nodes:
            raise PluginError(
                f"program {program.name!r} has no {role} node (a mava_program_build_nodes hook removed it); "
                f"the run needs one: {why}. Replace the node with another of role {role!r} instead of removing it"
            )
        if len(nodes) > 1 and role != EXECUTOR:
            raise PluginError(f"program {program.name!r} has {len(nodes)} {role} nodes "
                              f"({', '.join(n.name for n in nodes)}); a run has exactly one")


class NodeStart:
    """A node's factory that first makes the node's run context in the process that makes the node.

    Making a node's context fires ``mava_node_start`` there (once per node and process), so
    every node of every backend announces itself, custom nodes included.
    """

    def __init__(self, builder: Any, name: str, role: str, make: Callable[..., Any]):
        self.builder, self.name, self.role, self.make = builder, name, role, make

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.builder.node_context(self.name, self.role, this_process=True)
        return self.make(*args, **kwargs)


def build_program(builder: Any) -> Program:
    """The standard nodes (replay, counter, trainer, executors, evaluator, coordinator), then the plugins' changes.

    Every node's factory is wrapped in :class:`NodeStart` after the plugins' changes, and
    the program is checked (:func:`check_program`).
    """
    from mava_core.coordinator import CoordinatorWorker
    from mava_core.run_control import make_counter
    from mava_core.workers import EvaluatorWorker, ExecutorWorker, TrainerWorker

    _ = builder.env_spec  # validate the system/environment pair before any process starts
    builder.check_vector_acting()
    run = builder.run
    program = Program(f"{run.system}-{run.environment}")
    program.add(Node("replay", REPLAY, builder.make_replay_tables))
    program.add(Node("counter", COUNTER, functools.partial(make_counter, builder)))
    program.add(Node("trainer", TRAINER, functools.partial(TrainerWorker, builder)))
    for index in range(run.executors):
        program.add(Node(f"executor_{index}", EXECUTOR, functools.partial(ExecutorWorker, builder, index)))
    program.add(Node("evaluator", EVALUATOR, functools.partial(EvaluatorWorker, builder)))
    program.add(Node("coordinator", COORDINATOR, functools.partial(CoordinatorWorker, builder)))
    builder.hooks_for(builder.context).mava_program_build_nodes(builder=builder, program=program)
    check_program(program)
    for node in program.nodes:
        if not isinstance(node.make, NodeStart):
            node.make = NodeStart(builder, node.name, node.role, node.make)
    return program


def save_config(builder: Any) -> str:
    """Write both config trees to ``RUN_DIR/config.json`` (what ``--resume`` and ``mava evaluate`` rebuild from)."""
    from mava_core import config as cfg

    path = os.path.join(builder.run.run_dir, "config.json")
    with open(path, "w") as handle:
        json.dump({"run": cfg.to_dict(builder.run), "system": cfg.to_dict(builder.system_config)}, handle, indent=2)
    return path
