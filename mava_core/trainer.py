"""The trainer lifecycle: a compiled training step wrapped in the trainer hooks.

A system supplies a *learner* (its losses, its variables, what follows an update such as
target-network refreshes); the :class:`Trainer` samples batches, computes gradients, lets the
``mava_trainer_loss`` and ``mava_trainer_after_gradients`` hooks add terms or transform
gradients (at trace time), applies them, and reports metrics through
``mava_trainer_step_end``. TensorFlow is imported when a trainer is built, not before.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
import types
from typing import Any, Dict, Iterator, List, Optional, Tuple

from mava_core.errors import ConfigError, TrainingDivergedError

#: set to ``1`` to make every optimiser step a no-op (gradients are computed, nothing is
#: applied): a learning test must fail under it. Read when a trainer is built, so it reaches
#: Launchpad and Ray node processes through their inherited environment.
DISABLE_OPTIMISER_STEP_VARIABLE = "MAVA_DISABLE_OPTIMISER_STEP"


def optimiser_step_disabled() -> bool:
    """Whether ``MAVA_DISABLE_OPTIMISER_STEP`` asks for no-op optimiser steps (unset, ``0`` or ``1``)."""
    value = os.environ.get(DISABLE_OPTIMISER_STEP_VARIABLE, "").strip()
    if value not in ("", "0", "1"):
        raise ConfigError(DISABLE_OPTIMISER_STEP_VARIABLE, f"must be 0 or 1 (environment variable), got {value!r}")
    return value == "1"


@dataclasses.dataclass
class GradientUpdate:
    """Gradients about to be applied, parallel to ``variables``; hooks may replace ``gradients``.

    ``group`` names the optimisation group (``"default"`` for single-loss learners; e.g.
    ``"policy"`` and ``"critic"`` for actor-critic learners).
    """

    gradients: List[Any]
    variables: List[Any]
    group: str = "default"


@dataclasses.dataclass
class OptimisationGroup:
    """Losses minimised together over some variables with one optimiser.

    ``losses`` names the learner's loss terms this group minimises (``None``: every loss term
    not claimed by another group, plus extra terms from ``mava_trainer_loss`` hooks).
    """

    name: str
    variables: List[Any]
    optimizer: Any
    losses: Optional[Tuple[str, ...]] = None


class Learner:
    """What a system provides to a trainer. Subclasses implement the abstract parts."""

    #: optimiser with ``apply(updates, parameters)`` (a Sonnet optimiser)
    optimizer: Any = None

    def trainable_variables(self) -> List[Any]:
        raise NotImplementedError

    def optimisation_groups(self) -> List[OptimisationGroup]:
        """How losses map to variables and optimisers.

        The default is one group: every loss over ``trainable_variables()`` with
        ``optimizer``. Actor-critic learners return one group per network (e.g. the policy
        loss over the actor's variables only), so that each gradient reaches only its own
        network.
        """
        return [OptimisationGroup("default", list(self.trainable_variables()), self.optimizer)]

    def losses(self, batch: Any) -> Dict[str, Any]:
        """Named scalar loss tensors for one batch (each optimisation group sums its own)."""
        raise NotImplementedError

    def after_update(self, step: Any) -> None:
        """Graph-side work after each update (e.g. target network refresh); ``step`` is a tf int."""

    def after_step(self, batch: Any, outputs: Dict[str, Any]) -> None:
        """Python-side work after each step (e.g. writing replay priorities)."""

    def policy_variables(self) -> Dict[str, List[Any]]:
        """Variables executors need, grouped by name."""
        raise NotImplementedError

    def state_variables(self) -> List[Any]:
        """Every variable of the learner's state, in a fixed order: what a checkpoint stores.

        The default finds every ``tf.Variable`` reachable from the learner's attributes
        (networks, target networks, mixers, optimisers, counters), in attribute order. A
        learner that keeps state elsewhere (e.g. in a closure) overrides this.
        """
        return collect_variables(self)


#: objects whose attributes are never a learner's state
_NOT_STATE = (type, types.ModuleType, types.FunctionType, types.MethodType)


def collect_variables(root: Any) -> List[Any]:
    """Every ``tf.Variable`` reachable from ``root`` (attributes, dicts, lists, ``tf.Module`` s), once each.

    The order depends only on how the objects were built (attribute and insertion order;
    ``tf.Module.variables`` sorts by attribute name), so two learners built from the same
    config list their variables in the same order.
    """
    import tensorflow as tf

    found: Dict[int, Any] = {}
    visited = set()

    def visit(obj: Any) -> None:
        if id(obj) in visited or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
            return
        visited.add(id(obj))
        if isinstance(obj, tf.Variable):
            found.setdefault(id(obj), obj)
        elif isinstance(obj, tf.Module):
            for variable in obj.variables:
                found.setdefault(id(variable), variable)
        elif isinstance(obj, dict):
            for value in obj.values():
                visit(value)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                visit(value)
        elif hasattr(obj, "__dict__") and not isinstance(obj, _NOT_STATE):
            if type(obj).__module__.split(".")[0] in ("tensorflow", "reverb", "numpy"):
                return
            for value in vars(obj).values():
                visit(value)

    visit(root)
    return list(found.values())


def on_device(device: Optional[str]):
    """A ``tf.device`` scope for ``device``, or no scope at all for ``None`` (TensorFlow's own placement)."""
    if device is None:
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.device(device)


class Trainer:
    """Runs training steps for a learner on batches from an iterator, through the trainer hooks.

    ``device`` (e.g. ``"/GPU:0"``) is where the compiled step and the optimiser state are
    placed; ``None`` leaves it to TensorFlow.
    """

    def __init__(
        self,
        learner: Learner,
        iterator: Iterator[Any],
        hooks: Any,
        counter: Any = None,
        logger: Any = None,
        max_gradient_norm: Optional[float] = None,
        log_every_seconds: float = 5.0,
        device: Optional[str] = None,
    ):
        import tensorflow as tf

        self._tf = tf
        self.device = device
        self.learner = learner
        self.iterator = iterator
        self.counter = counter
        self.logger = logger
        self.max_gradient_norm = max_gradient_norm
        self._hooks = hooks
        self._log_every = log_every_seconds
        self._last_log = -math.inf
        self.steps = 0
        self.last_counts: Dict[str, float] = {}
        with on_device(device):
            self._step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="trainer_step")
        self.groups = learner.optimisation_groups()
        claimed = [name for group in self.groups for name in (group.losses or ())]
        if len(claimed) != len(set(claimed)):
            raise ValueError(f"a loss term is claimed by two optimisation groups: {claimed}")
        self.data_wait_seconds = 0.0
        self.step_seconds = 0.0
        self.optimiser_step_disabled = optimiser_step_disabled()
        self._compiled = tf.function(self._train_step)
        hooks.mava_trainer_init(trainer=self)

    # -------------------------------------------------------------- graph side
    def _group_losses(self, losses: Dict[str, Any]) -> Dict[str, List[Any]]:
        """Loss tensors of each optimisation group (unclaimed terms go to the group with ``losses=None``)."""
        claimed = {name: group.name for group in self.groups for name in (group.losses or ())}
        catch_all = [group.name for group in self.groups if group.losses is None]
        per_group: Dict[str, List[Any]] = {group.name: [] for group in self.groups}
        for name, value in losses.items():
            owner = claimed.get(name) or (catch_all[0] if catch_all else None)
            if owner is None:
                raise ValueError(f"loss term {name!r} belongs to no optimisation group {[g.name for g in self.groups]}")
            per_group[owner].append(self._tf.cast(value, self._tf.float32))
        return per_group

    def _train_step(self, batch: Any) -> Dict[str, Any]:
        tf = self._tf
        with tf.GradientTape(persistent=len(self.groups) > 1) as tape:
            losses = dict(self.learner.losses(batch))
            outputs = {k: v for k, v in losses.items() if k.startswith("_")}
            losses = {k: v for k, v in losses.items() if not k.startswith("_")}
            for extra in self._hooks.mava_trainer_loss(trainer=self, losses=losses, batch=batch):
                if extra:
                    losses.update(extra)
            group_totals = {name: tf.add_n(terms) for name, terms in self._group_losses(losses).items() if terms}
        metrics = {f"loss/{name}": value for name, value in losses.items()}
        metrics["loss/total"] = tf.add_n(list(group_totals.values()))
        for group in self.groups:
            if group.name not in group_totals:
                continue
            gradients = tape.gradient(group_totals[group.name], group.variables)
            update = GradientUpdate(list(gradients), list(group.variables), group.name)
            self._hooks.mava_trainer_after_gradients(trainer=self, update=update)
            if not self.optimiser_step_disabled:  # MAVA_DISABLE_OPTIMISER_STEP=1: learning switched off
                group.optimizer.apply(update.gradients, update.variables)
            suffix = "" if len(self.groups) == 1 else f"/{group.name}"
            metrics[f"gradient_norm{suffix}"] = tf.linalg.global_norm(update.gradients)
        del tape
        self._step_counter.assign_add(1)
        self.learner.after_update(self._step_counter)
        metrics.update(outputs)  # non-loss outputs keep their "_" prefix
        return metrics

    # ------------------------------------------------------------- python side
    def step(self) -> Dict[str, float]:
        """One training step: sample, update, hooks, counters, logs. Returns its metrics."""
        self._hooks.mava_trainer_step_start(trainer=self, step=self.steps)
        started = time.perf_counter()
        batch = next(self.iterator)
        sampled = time.perf_counter()
        with on_device(self.device):
            outputs = self._compiled(batch)
        self.learner.after_step(batch, outputs)
        # "_name" outputs are not losses; scalar ones are reported as "name"
        metrics = {k.lstrip("_"): float(v) for k, v in outputs.items() if v.shape.rank == 0}
        finished = time.perf_counter()
        self.data_wait_seconds += sampled - started
        self.step_seconds += finished - started
        if not math.isfinite(metrics["loss/total"]):
            bad = [k for k, v in metrics.items() if k.startswith("loss/") and not math.isfinite(v)]
            raise TrainingDivergedError(
                f"training diverged at trainer step {self.steps + 1}: {', '.join(bad)} became NaN or Inf; "
                "lower the learning rate or set max_gradient_norm"
            )
        self.steps += 1
        counts = self.counter.increment(trainer_steps=1) if self.counter is not None else {"trainer_steps": self.steps}
        self.last_counts = counts
        metrics["trainer_steps"] = counts.get("trainer_steps", self.steps)
        metrics["data_wait_fraction"] = self.data_wait_seconds / max(self.step_seconds, 1e-9)
        self._hooks.mava_trainer_step_end(trainer=self, step=self.steps, metrics=metrics)
        if self.logger is not None and finished - self._last_log >= self._log_every:
            self._last_log = finished
            metrics_to_log = dict(metrics)
            if self.counter is not None:
                metrics_to_log["env_steps"] = counts.get("env_steps", 0)
            self.logger.write(metrics_to_log)
        return metrics

    # ------------------------------------------------------------ checkpoints
    @property
    def step_counter(self) -> Any:
        """The compiled step's counter variable (completed training steps; drives target refreshes)."""
        return self._step_counter

    def build_optimiser_state(self) -> None:
        """Create every optimiser's slot variables now (zeros) instead of at the first step.

        Sonnet optimisers create their slots (e.g. Adam's moments) in ``_initialize`` on the
        first ``apply``; calling it ahead changes no value, and lets a checkpoint be written
        before the first step or restored before it.
        """
        for group in self.groups:
            initialize = getattr(group.optimizer, "_initialize", None)
            if callable(initialize):
                with on_device(self.device):
                    initialize(group.variables)

    def state_variables(self) -> List[Any]:
        """The trainer's whole state: the learner's variables, every optimiser's, the step counter."""
        self.build_optimiser_state()
        variables: Dict[int, Any] = {}
        for variable in self.learner.state_variables():
            variables.setdefault(id(variable), variable)
        for group in self.groups:
            for variable in getattr(group.optimizer, "variables", ()):
                variables.setdefault(id(variable), variable)
        variables.setdefault(id(self._step_counter), self._step_counter)
        return list(variables.values())

    def restored(self) -> None:
        """Continue counting from a restored step counter (call after restoring the variables)."""
        self.steps = int(self._step_counter.numpy())

    def get_variables(self, names):
        groups = self.learner.policy_variables()
        return {name: [variable.numpy() for variable in groups[name]] for name in names}
