"""Sequence replay for recurrent agents: overlapping fixed-length sequences with stored state.

Executors write every step they take together with the recurrent state their policy acted
from (reported by the policy's ``extras()`` as ``core_state``, a dict keyed by agent). The
adder cuts each episode into sequences of ``sequence_length`` steps that start every
``period`` steps, as in R2D2 (Kapturowski et al. 2019), and stores each sequence with the
recurrent state at its first step, so the learner can start its unroll where the executor
was instead of from zeros. Sequences never cross episodes:

* an episode's step stream starts with ``burn_in`` padding steps, so the first sequence of
  an episode burns in on padding and trains from the episode's first step (the ``starts``
  flag resets the state to zeros there);
* after the episode's last step comes its final observation as one more step (``valid`` 0,
  no action), so the last real step can bootstrap from it (truncations included);
* sequences that run past that are padded with zeros (``valid`` 0).

Layout of one item (``T = sequence_length``; per-agent fields are dicts keyed by agent)::

    observations[a]  [T, *obs]   observation the action was chosen on
    masks[a]         [T, A]      legal-action mask of that observation
    actions[a]       [T] int32   action taken (0 on padding)
    rewards[a]       [T]         reward that followed
    discounts[a]     [T]         the environment's discount (the iterator multiplies it by gamma)
    starts           [T]         1.0 at the first step of an episode (the state resets there)
    valid            [T]         1.0 where an action was taken (0: padding, final observation)
    core_state[a]    [*state]    the executor's recurrent state before the first step
    state            [T, *state] the global state at each step (when the env has one)

Batches from :meth:`SequenceReplay.iterator` carry ``gamma * discount`` instead (the run's
``discount`` setting), as transition replay's items do: learners never apply gamma.

The learner trains steps ``burn_in .. T - 2`` that are valid (step ``T - 1`` only provides
the bootstrap value of step ``T - 2``); ``period <= sequence_length - burn_in - 1`` makes
consecutive sequences' trained windows cover every step of an episode.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, ClassVar, Dict, List, Optional

import numpy as np

from mava_core.config import bounded
from mava_core.errors import ConfigError, MavaError
from mava_core.specs import MultiAgentSpec
from mava_plugins.datasets.sequences import (
    BOUND_EVERY_ITEMS,
    MAX_IN_FLIGHT_ITEMS,
    ActionStore,
    StepSpecs,
    flush_all,
    flush_in_slices,
    last_steps,
    split_observations,
)
from mava_plugins.datasets.transition_replay import importance_weights, replay_iterator, write_priorities

TABLE = "sequences"


def sequence_replay_signature(spec: MultiAgentSpec, sequence_length: int, state_shape) -> Dict[str, Any]:
    """Nested ``tf.TensorSpec`` of one sequence item (see the module docstring)."""
    import tensorflow as tf

    steps = StepSpecs(spec, (int(sequence_length),))
    signature = {
        "observations": steps.observations(),
        "masks": steps.masks(),
        "actions": steps.actions(),
        "rewards": steps.scalars(),
        "discounts": steps.scalars(),
        "starts": steps.flag(),
        "valid": steps.flag(),
        "core_state": {agent: tf.TensorSpec(tuple(state_shape), tf.float32) for agent in spec.agents},
    }
    if spec.state is not None:
        signature["state"] = steps.state()
    return signature


class SequenceReplay:
    """Uniform or prioritised replay of overlapping fixed-length sequences (R2D2-style).

    Sizes (``max_size``, ``min_size``, ``batch_size``) count sequences. ``samples_per_insert``
    counts *trained steps*: each trainer step samples ``batch_size`` sequences of
    ``sequence_length - burn_in - 1`` trained steps, so with the same value the trainer
    learns from about as many steps per environment step as with transition replay.
    """

    #: component marker read by the Q-learning systems' config check
    sequences = True

    @dataclasses.dataclass
    class Config:
        #: marks this dataset as one that stores sequences for recurrent networks (not a setting)
        sequences: ClassVar[bool] = True

        sequence_length: int = bounded(20, minimum=2, maximum=1_000, help="steps per stored sequence, burn-in included")
        burn_in: int = bounded(
            4, minimum=0, help="first steps of a sequence that only advance the recurrent state (no loss, no gradient)"
        )
        period: int = bounded(10, minimum=1, help="steps between the starts of consecutive sequences of an episode")
        max_size: int = bounded(5_000, minimum=1, help="sequences kept (oldest removed first)")
        min_size: int = bounded(100, minimum=1, help="sequences in the table before training starts")
        batch_size: int = bounded(32, minimum=1, help="sequences per batch")
        samples_per_insert: float = bounded(
            8.0, minimum=0.0, help="trained steps sampled per environment step inserted (0: no rate limit)"
        )
        error_buffer: float = bounded(0.0, minimum=0.0, help="0: derived from min_size and samples_per_insert")
        prioritised: bool = bounded(False, help="sample sequences by priority (R2D2's mix of max and mean |TD|)")
        priority_exponent: float = bounded(0.6, minimum=0.0, maximum=1.0, help="alpha: sampling prob ~ priority ** alpha")
        importance_exponent: float = bounded(0.4, minimum=0.0, maximum=1.0, help="beta of the importance-sampling weights")
        priority_eta: float = bounded(
            0.9, minimum=0.0, maximum=1.0, help="sequence priority: eta * max |TD| + (1 - eta) * mean |TD| (R2D2)"
        )
        prefetch: int = bounded(4, minimum=0, help="batches the trainer's iterator prepares ahead")

        def check(self, prefix: str = "") -> None:
            if self.burn_in > self.sequence_length - 2:
                raise ConfigError(
                    f"{prefix}burn_in",
                    f"must be <= {prefix}sequence_length - 2 ({self.sequence_length - 2}) so a sequence trains "
                    f"at least one step, got {self.burn_in}",
                )
            trained = self.sequence_length - self.burn_in - 1
            if self.period > trained:
                raise ConfigError(
                    f"{prefix}period",
                    f"must be <= sequence_length - burn_in - 1 ({trained}), or some steps are never trained on; "
                    f"got {self.period}",
                )
            if self.min_size > self.max_size:
                raise ConfigError(f"{prefix}min_size", f"must be <= {prefix}max_size ({self.max_size}), got {self.min_size}")

    def __init__(self, config: "SequenceReplay.Config"):
        self.config = config
        self._adders: List["SequenceAdder"] = []
        self._training_from: Optional[int] = None

    @property
    def trained_steps_per_sequence(self) -> int:
        return self.config.sequence_length - self.config.burn_in - 1

    @staticmethod
    def _state_shape(builder: Any):
        network = builder.system.components.network
        shape = getattr(network, "state_shape", None)
        if shape is None:
            raise ConfigError(
                "network",
                f"dataset sequence_replay stores recurrent state; use a recurrent network (network=gru), "
                f"not {builder.system_config.network.name!r}",
            )
        return tuple(shape)

    # ------------------------------------------------------------------ tables
    def tables(self, builder: Any) -> List[Any]:
        import reverb

        c = self.config
        if builder.context.backend.interleaves_nodes or c.samples_per_insert == 0:
            limiter = reverb.rate_limiters.MinSize(c.min_size)
        else:
            # the limiter counts items: sampled sequences per inserted sequence
            per_item = c.samples_per_insert * c.period / self.trained_steps_per_sequence
            error_buffer = c.error_buffer or max(c.min_size * per_item, 2.0 * c.batch_size * 8)
            limiter = reverb.rate_limiters.SampleToInsertRatio(per_item, c.min_size, error_buffer)
        sampler = reverb.selectors.Prioritized(c.priority_exponent) if c.prioritised else reverb.selectors.Uniform()
        signature = sequence_replay_signature(builder.recorded_spec, c.sequence_length, self._state_shape(builder))
        return [
            reverb.Table(
                name=TABLE,
                sampler=sampler,
                remover=reverb.selectors.Fifo(),
                max_size=c.max_size,
                rate_limiter=limiter,
                signature=signature,
            )
        ]

    # ------------------------------------------------------------------- adder
    def adder(self, builder: Any, client: Any) -> "SequenceAdder":
        c = self.config
        adder = SequenceAdder(
            client, TABLE, builder.recorded_spec, c.sequence_length, c.period, c.burn_in, self._state_shape(builder)
        )
        self._adders.append(adder)
        return adder

    # ---------------------------------------------------------------- iterator
    def iterator(self, builder: Any, server_address: str):
        """Batches of sequences whose ``discounts`` include gamma (see :func:`apply_discount`)."""
        discount = functools.partial(apply_discount, gamma=getattr(builder.system_config, "discount", 0.99))
        return replay_iterator(builder, server_address, TABLE, self.config.batch_size, self.config.prefetch,
                               lambda sample: sample._replace(data=discount(sample.data)))

    def trainer_steps_due(self, inserted: int) -> int:
        """Training steps owed after ``inserted`` environment steps, when the backend interleaves nodes.

        Training starts once this process's adders have written ``min_size`` sequences
        (sequences per step vary with episode lengths, so they are counted, not estimated);
        from then on every environment step owes ``samples_per_insert`` trained steps, and a
        trainer step trains ``batch_size * (sequence_length - burn_in - 1)`` of them.
        """
        c = self.config
        if self._training_from is None:
            if sum(adder.items_written for adder in self._adders) < c.min_size:
                return 0
            self._training_from = int(inserted)
        per_trainer_step = c.batch_size * self.trained_steps_per_sequence
        return int((int(inserted) - self._training_from + 1) * c.samples_per_insert / per_trainer_step)

    # -------------------------------------------------------------- priorities
    def importance_weights(self, probabilities, table_size):
        """Importance-sampling weights for prioritised replay (normalised to max 1)."""
        return importance_weights(probabilities, table_size, self.config.importance_exponent)

    def update_priorities(self, client: Any, keys: Any, priorities: Any) -> None:
        if self.config.prioritised:
            write_priorities(client, TABLE, keys, priorities)


def apply_discount(data: Dict[str, Any], gamma: float) -> Dict[str, Any]:
    """The batch with every agent's stored environment discounts multiplied by ``gamma``.

    Transition replay's n-step adder folds gamma into its items; sequences store the
    environment's discounts and get it here, so every learner's target is
    ``rewards + discounts * bootstrap``.
    """
    discounted = dict(data)
    discounted["discounts"] = {agent: gamma * value for agent, value in data["discounts"].items()}
    return discounted


class SequenceAdder:
    """Writes an executor's episodes as overlapping sequences with the recurrent state at their start.

    See the module docstring for the layout. Each episode is a stream of ``burn_in`` padding
    steps, its real steps and its final observation; a sequence is created at stream offsets
    ``0, period, 2 * period, ...`` once its last step has been appended, and at the episode's
    end zero padding completes the sequences still needed to train on every real step.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        spec: MultiAgentSpec,
        sequence_length: int,
        period: int,
        burn_in: int,
        state_shape,
        priority: float = 1.0,
    ):
        self._writer = client.trajectory_writer(num_keep_alive_refs=int(sequence_length))
        self._table = table
        self._length = int(sequence_length)
        self._period = int(period)
        self._burn_in = int(burn_in)
        self._priority = priority
        self._agents = list(spec.agents)
        self._with_state = spec.state is not None
        self._state_shape = tuple(spec.state.shape) if spec.state is not None else None
        self._actions = ActionStore(spec)
        self._zero_core = np.zeros(tuple(state_shape), np.float32)
        self._last: Optional[tuple] = None
        self._stream = 0  # steps appended for the current episode (padding included)
        self._next_offset = 0  # stream offset of the next sequence to create
        self._trained_until = -1  # last stream index a created sequence trains on
        self._zero_obs: Optional[tuple] = None
        self.items_written = 0
        self.steps_written = 0
        #: set by the executor's worker: whether a blocked write may be abandoned
        self.should_stop = lambda: False

    # ----------------------------------------------------------------- stream
    def _step(self, observations, masks, state, actions, rewards, discounts, start, valid, core) -> Dict[str, Any]:
        step: Dict[str, Any] = {
            "observations": observations,
            "masks": masks,
            "actions": actions,
            "rewards": rewards,
            "discounts": discounts,
            "starts": np.float32(start),
            "valid": np.float32(valid),
            "core_state": core,
        }
        if self._with_state:
            step["state"] = np.zeros(self._state_shape, np.float32) if state is None else np.asarray(state, np.float32)
        return step

    def _padding(self) -> Dict[str, Any]:
        observations, masks = self._zero_obs
        zeros = {a: np.float32(0.0) for a in self._agents}
        return self._step(
            observations, masks, None, {a: self._actions.noop(a) for a in self._agents}, zeros, zeros, 0.0, 0.0,
            {a: self._zero_core for a in self._agents},
        )

    def _append(self, step: Dict[str, Any]) -> None:
        self._writer.append(step)
        self._stream += 1
        if self._stream == self._next_offset + self._length:
            self._create_sequence()

    def _create_sequence(self) -> None:
        trajectory = last_steps({k: v for k, v in self._writer.history.items() if k != "core_state"}, self._length)
        # the state the executor acted from at the sequence's first step
        trajectory["core_state"] = {a: column[-self._length] for a, column in self._writer.history["core_state"].items()}
        self._writer.create_item(self._table, self._priority, trajectory)
        self._trained_until = self._next_offset + self._length - 2
        self._next_offset += self._period
        self.items_written += 1
        if self.items_written % BOUND_EVERY_ITEMS == 0:
            flush_in_slices(self._writer, MAX_IN_FLIGHT_ITEMS, self.should_stop)

    # ------------------------------------------------------------------ adder
    def add_first(self, timestep, extras: Dict[str, Any]) -> None:
        observations, masks = split_observations(timestep, self._agents)
        if self._zero_obs is None:
            self._zero_obs = (
                {a: np.zeros_like(o) for a, o in observations.items()},
                {a: np.zeros_like(m) for a, m in masks.items()},
            )
        self._last = (observations, masks, extras.get("state"), True)
        self._stream, self._next_offset, self._trained_until = 0, 0, -1
        for _ in range(self._burn_in):
            self._append(self._padding())

    def _core_state(self, extras: Dict[str, Any]) -> Dict[str, np.ndarray]:
        core = extras.get("core_state")
        if not isinstance(core, dict):
            raise MavaError(
                "the sequence_replay dataset stores the recurrent state each action was chosen from, but the "
                f"policy's extras() reported {sorted(extras)}; use a recurrent network (network=gru)"
            )
        return {a: np.asarray(core[a], np.float32) if a in core else self._zero_core for a in self._agents}

    def add(self, actions: Dict[str, Any], next_timestep, extras: Dict[str, Any]) -> None:
        if self._last is None:
            raise RuntimeError("adder.add called before add_first")
        observations, masks, state, first = self._last
        step = self._step(
            observations,
            masks,
            state,
            {a: self._actions.typed(a, actions.get(a)) for a in self._agents},
            {a: np.float32(next_timestep.reward[a]) for a in self._agents},
            {a: np.float32(next_timestep.discount[a]) for a in self._agents},
            1.0 if first else 0.0,
            1.0,
            self._core_state(extras),
        )
        self._append(step)
        self.steps_written += 1
        next_observations, next_masks = split_observations(next_timestep, self._agents)
        next_state = extras.get("state")
        if not next_timestep.last():
            self._last = (next_observations, next_masks, next_state, False)
            return
        # the final observation, for the last step's bootstrap value; then pad the sequences
        # still needed to train on every real step of the episode
        zeros = {a: np.float32(0.0) for a in self._agents}
        self._append(
            self._step(
                next_observations, next_masks, next_state, {a: self._actions.noop(a) for a in self._agents}, zeros,
                zeros, 0.0, 0.0, {a: self._zero_core for a in self._agents},
            )
        )
        last_real = self._stream - 2
        while self._trained_until < last_real:
            self._append(self._padding())
        self._last = None

    def flush(self, should_stop: Optional[Callable[[], bool]] = None) -> None:
        """Send every pending item (with ``should_stop``: until it says to give up)."""
        flush_all(self._writer, should_stop)

    def close(self) -> None:
        self._writer.close()
