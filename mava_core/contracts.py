"""The contracts plugins implement, written as :class:`typing.Protocol` classes.

Each protocol states what the core (and the built-in plugins) call on a component of that
kind; a plugin's class needs no base class to satisfy one, only the methods and attributes
below. Type checkers read them (``make lint`` runs mypy), and the ones marked
``runtime_checkable`` can be tested with ``isinstance`` where the core must refuse a
component that does not keep its contract. docs/plugins.md describes the same contracts in
prose, kind by kind.
"""
from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    runtime_checkable,
)

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    import dm_env

    from mava_core.program import Program
    from mava_core.specs import AgentObservation, MultiAgentSpec


# --------------------------------------------------------------------------- environments
@runtime_checkable
class Environment(Protocol):
    """A multi-agent ``dm_env`` environment (:class:`~mava_core.environment.MultiAgentEnvironment`)."""

    def reset(self) -> "dm_env.TimeStep":
        """Start an episode: a FIRST timestep whose observation maps agent id to AgentObservation."""

    def step(self, actions: Mapping[str, Any]) -> "dm_env.TimeStep":
        """Advance one step with every acting agent's action."""

    def multi_agent_spec(self) -> "MultiAgentSpec":
        """Agents, their observation and action specs, the optional global state and the kind."""

    def close(self) -> None:
        """Free what the environment holds (processes, sockets)."""


class EnvironmentFamily(Protocol):
    """An ``environment`` component: makes ``family:task`` environments."""

    def tasks(self) -> Iterable[str]:
        """The task names ``make`` accepts."""

    def make(self, task: str, seed: int = 0, **options: Any) -> Environment:
        """An environment for ``task``; unknown ``options`` raise ``ConfigError("env.KEY", ...)``."""


# --------------------------------------------------------------------------------- acting
class Policy(Protocol):
    """What a system's ``make_policy`` returns: chooses every acting agent's action."""

    def select_actions(self, observations: Mapping[str, "AgentObservation"]) -> Dict[str, Any]:
        """One action per agent in ``observations`` (one batched network call for all of them)."""

    def reset(self) -> None:
        """Forget per-episode state (e.g. recurrent state) at an episode's start."""

    def set_step(self, env_steps: int) -> None:
        """The run's environment steps so far (exploration schedules read it)."""


class Adder(Protocol):
    """Writes an executor's experience to the dataset (``mava_dataset_adder``)."""

    def add_first(self, timestep: "dm_env.TimeStep", extras: Mapping[str, Any]) -> None:
        """The FIRST timestep of an episode."""

    def add(self, actions: Mapping[str, Any], next_timestep: "dm_env.TimeStep", extras: Mapping[str, Any]) -> None:
        """One transition: the actions taken and the timestep they led to."""


class Dataset(Protocol):
    """A ``dataset`` component: a Reverb table layout, its adder and the trainer's iterator."""

    def tables(self, builder: Any) -> List[Any]:
        """The ``reverb.Table`` objects the replay node serves."""

    def adder(self, builder: Any, client: Any) -> Adder:
        """The adder one executor writes with."""

    def iterator(self, builder: Any, server_address: str) -> Iterable[Any]:
        """The batches the trainer samples."""


# ------------------------------------------------------------------------------- learning
class Learner(Protocol):
    """What a system's ``make_learner`` returns: losses and variables of the training step."""

    optimizer: Any

    def trainable_variables(self) -> Sequence[Any]:
        """The variables the optimizer updates."""

    def losses(self, batch: Any) -> Dict[str, Any]:
        """Named scalar losses of one batch (traced by ``tf.function``)."""

    def policy_variables(self) -> Dict[str, List[Any]]:
        """The variables executors pull, by group (as the system's ``policy_variables``)."""


class System(Protocol):
    """A ``system`` component (a :class:`~mava_core.system.System` subclass)."""

    name: ClassVar[str]
    Config: ClassVar[type]

    @classmethod
    def check_environment(cls, spec: "MultiAgentSpec", environment: str) -> None:
        """Raise ``ConfigError`` when the system cannot run on an environment with ``spec``."""

    def make_networks(self) -> Any:
        """The networks one process acts or trains with."""

    def make_policy(self, networks: Any, evaluation: bool, seed: int) -> Policy:
        """An executor's (greedy when ``evaluation``) policy."""

    def policy_variables(self, networks: Any) -> Dict[str, List[Any]]:
        """The variables executors pull from the trainer, by group."""

    def make_learner(self, networks: Any, replay_client: Any) -> Learner:
        """The learner the trainer steps."""

    def vector_acting_refusal(self) -> Optional[str]:
        """Why the system cannot act in several environment copies per executor, or None."""

    def reads_state(self) -> bool:
        """Whether the learner or policy reads the global state (optional; without it, the state is recorded)."""


class Checkpointer(Protocol):
    """What ``mava_checkpointer`` returns: saves and restores a run's state (docs/reliability.md)."""

    def prepare(self) -> None:
        """In the launching process: refuse or select the checkpoint to resume."""

    def replay_checkpointer(self) -> Any:
        """A Reverb checkpointer for the replay server, or None."""

    def initial_counts(self) -> Dict[str, float]:
        """The counter's starting counts."""

    def restore_trainer(self, trainer: Any) -> None:
        """Load the latest checkpoint's trainer state into ``trainer``."""

    def due(self, env_steps: int) -> bool:
        """Whether a checkpoint is due at ``env_steps``."""

    def save(self, trainer: Any, counts: Mapping[str, float], replay_client: Any) -> None:
        """Write a checkpoint."""

    def latest(self) -> Optional[Dict[str, Any]]:
        """The newest checkpoint's entry, or None."""

    def restore_policy(self, groups: Mapping[str, List[Any]], checkpoint_id: Optional[str]) -> Dict[str, Any]:
        """Load a checkpoint's policy variables into ``groups``; returns its entry (id, counts)."""

    def previous_evaluations(self) -> List[Dict[str, Any]]:
        """Evaluation rows of the run before it was resumed."""


# ---------------------------------------------------------------------------- running
class Backend(Protocol):
    """A ``backend`` component: runs a program to its budget.

    Traits the core and plugins read instead of testing the backend's name:
    ``interleaves_nodes`` (every node in one process, trainer steps scheduled by the backend:
    the ``local`` backend) and ``schedules_gpus`` (the backend's scheduler gives each node
    the GPUs its ``node.resources[<backend name>]["num_gpus"]`` asks for: Ray).
    """

    name: ClassVar[str]
    interleaves_nodes: ClassVar[bool]
    schedules_gpus: ClassVar[bool]

    def launch(self, program: "Program", builder: Any) -> Dict[str, Any]:
        """Run ``program``; returns the summary (at least ``env_steps`` and ``trainer_steps``)."""


@runtime_checkable
class Evaluator(Protocol):
    """The evaluator node's worker as plugins wrap it (e.g. ``recording``)."""

    loop: Any

    def evaluate(self, env_steps: int) -> Dict[str, float]:
        """Play one evaluation's greedy episodes on ``loop``; returns their summary."""


# ---------------------------------------------------------------------------- reporting
class Logger(Protocol):
    """A ``logger`` component, constructed as ``cls(run_dir, label, budget=..., every_seconds=...)``."""

    def write(self, values: Mapping[str, Any]) -> None:
        """Record one row of metrics."""

    def close(self) -> None:
        """Flush and release files."""


#: a ``logger`` component's constructor, as :func:`mava_core.logger_group.make_loggers` calls it
LoggerFactory = Callable[..., Logger]
