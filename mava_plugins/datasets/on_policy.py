"""On-policy sequences: a Reverb queue of fixed-length sequences, its adder and its iterator.

For on-policy systems (MAPPO): executors write every step they take, with what their policy
reported for it (behaviour log-probabilities and values, through ``extras()``), into
sequences of ``sequence_length`` consecutive steps. The table hands out each sequence
exactly once, oldest first, and deletes it once sampled, so the trainer only ever trains on
fresh data. Sequences run across episode boundaries: every step carries its own ``ends``
flag and the observation (and state) that followed it, which is all a learner needs to cut
advantage estimates at episode ends and to bootstrap at truncations and at the sequence end.

Layout of one item (``T = sequence_length``; per-agent fields are dicts keyed by agent)::

    observations[a]       [T, *obs]   observation the action was chosen on
    masks[a]              [T, A]      legal-action mask of that observation
    actions[a]            [T] int32 or [T, *action] float32
                                      what the policy sampled (a continuous policy's
                                      unclipped sample, see ``policy_actions``)
    log_probs[a]          [T]         behaviour log-probability of that action
    values[a]             [T]         behaviour value estimate of the observation
    rewards[a]            [T]         reward that followed
    discounts[a]          [T]         the environment's discount (0 at termination; gamma
                                      is applied by the learner)
    next_observations[a]  [T, *obs]   observation that followed
    ends                  [T]         1.0 where the step ended its episode
    state, next_state     [T, *state] global state before / after (when the env has one)

The policy's ``extras()`` must report ``log_probs`` and ``values`` (dicts keyed by agent),
and may report ``policy_actions`` (dict keyed by agent) to store instead of the actions the
environment received.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Any, Callable, Deque, Dict, List, Optional

import numpy as np

from mava_core.config import bounded
from mava_core.errors import ConfigError, MavaError
from mava_core.specs import MultiAgentSpec
from mava_plugins.datasets.sequences import (
    ActionStore,
    StepSpecs,
    flush_all,
    flush_in_slices,
    last_steps,
    split_observations,
)

TABLE = "on_policy_sequences"
SAMPLE_TIMEOUT_MS = 2_000
#: sampled keys remembered to detect (forbidden) re-sampling of a sequence
KEY_WINDOW = 100_000

PER_AGENT_FIELDS = ("observations", "masks", "actions", "log_probs", "values", "rewards", "discounts", "next_observations")


def sequence_signature(spec: MultiAgentSpec, sequence_length: int) -> Dict[str, Any]:
    """Nested ``tf.TensorSpec`` of one sequence item (see the module docstring)."""
    steps = StepSpecs(spec, (int(sequence_length),))
    signature = {
        "observations": steps.observations(),
        "masks": steps.masks(),
        "actions": steps.actions(),
        "log_probs": steps.scalars(),
        "values": steps.scalars(),
        "rewards": steps.scalars(),
        "discounts": steps.scalars(),
        "next_observations": steps.observations(),
        "ends": steps.flag(),
    }
    if spec.state is not None:
        signature["state"] = steps.state()
        signature["next_state"] = steps.state()
    return signature


class OnPolicySequences:
    """A Reverb queue of fixed-length sequences: each is trained on once, oldest first.

    Every sequence is sampled exactly once (``max_times_sampled=1``, FIFO) and removed when
    sampled. The trainer takes ``batch_size`` fresh sequences at a time and makes
    ``epochs * minibatches`` updates on them (each pass shuffles the sequences into
    ``minibatches`` minibatches), then drops them; a trainer step is one minibatch update.

    * Backends that interleave nodes (local): the table never blocks; ``trainer_steps_due``
      owes the ``epochs * minibatches`` updates of a batch as soon as its ``batch_size``
      sequences have been written, so every batch is trained on right after it is complete.
    * Concurrent backends (Launchpad): the table is a ``reverb.Table.queue`` of ``max_size``
      sequences, whose rate limiter blocks executors when it is full and the trainer when it
      is empty, so executors can run at most ``max_size`` sequences (plus the batch being
      sampled) ahead of the trainer.
    """

    #: trains each item once on the data of the current policy (systems such as mappo check this)
    on_policy = True

    @dataclasses.dataclass
    class Config:
        sequence_length: int = bounded(
            20, minimum=1, maximum=10_000, help="steps per stored sequence (advantages bootstrap at its end)"
        )
        batch_size: int = bounded(16, minimum=1, help="sequences per batch of fresh data")
        epochs: int = bounded(4, minimum=1, maximum=1_000, help="passes over each batch")
        minibatches: int = bounded(2, minimum=1, help="minibatches per pass; must divide batch_size")
        max_size: int = bounded(
            32, minimum=1, help="sequences the queue holds; concurrent backends: executors wait when it is full"
        )

        def check(self, prefix: str = "") -> None:
            if self.batch_size % self.minibatches:
                raise ConfigError(
                    f"{prefix}minibatches",
                    f"must divide {prefix}batch_size ({self.batch_size}) into equal minibatches, got {self.minibatches}",
                )
            if self.max_size < self.batch_size:
                raise ConfigError(f"{prefix}max_size", f"must be >= {prefix}batch_size ({self.batch_size}), got {self.max_size}")

    def __init__(self, config: "OnPolicySequences.Config"):
        self.config = config
        #: executors writing to the table (recorded when the tables are made; see trainer_steps_due)
        self.executors = 1
        #: what this process's iterators sampled (kept across iterators remade after a timeout)
        self.stats = SamplingStats()

    @property
    def updates_per_batch(self) -> int:
        return self.config.epochs * self.config.minibatches

    # ------------------------------------------------------------------ tables
    def tables(self, builder: Any) -> List[Any]:
        import reverb

        c = self.config
        self.executors = builder.run.executors
        signature = sequence_signature(builder.recorded_spec, c.sequence_length)
        if builder.context.backend.interleaves_nodes:
            # the backend schedules the trainer itself: a non-blocking FIFO that forgets
            # each sequence once sampled (the queue's limiter could block a single process)
            table = reverb.Table(
                name=TABLE,
                sampler=reverb.selectors.Fifo(),
                remover=reverb.selectors.Fifo(),
                max_size=max(c.max_size, c.batch_size + builder.run.executors),
                rate_limiter=reverb.rate_limiters.MinSize(1),
                max_times_sampled=1,
                signature=signature,
            )
        else:
            table = reverb.Table.queue(name=TABLE, max_size=c.max_size, signature=signature)
        return [table]

    # ------------------------------------------------------------------- adder
    def adder(self, builder: Any, client: Any) -> "OnPolicySequenceAdder":
        return OnPolicySequenceAdder(client, TABLE, builder.recorded_spec, self.config.sequence_length)

    # ---------------------------------------------------------------- iterator
    def iterator(self, builder: Any, server_address: str) -> "OnPolicyIterator":
        import reverb
        import tensorflow as tf

        c = self.config
        interleaved = builder.context.backend.interleaves_nodes
        dataset = reverb.TrajectoryDataset.from_table_signature(
            server_address=server_address,
            table=TABLE,
            max_in_flight_samples_per_worker=c.batch_size,
            num_workers_per_iterator=1,  # one stream: sequences arrive in insertion order
            # concurrent backends: end the iterator when no data comes for a while, so the
            # trainer can notice that the program is stopping instead of blocking forever
            rate_limiter_timeout_ms=-1 if interleaved else SAMPLE_TIMEOUT_MS,
        )
        dataset = dataset.batch(c.batch_size, drop_remainder=True)
        options = tf.data.Options()
        options.experimental_deterministic = True
        return OnPolicyIterator(
            iter(dataset.with_options(options)), c.epochs, c.minibatches, seed=builder.run.seed, stats=self.stats
        )

    def trainer_steps_due(self, inserted: int) -> int:
        """Minibatch updates owed after ``inserted`` environment steps (summed over executors).

        For backends that interleave nodes: executors act in lockstep, each writing a
        sequence every ``sequence_length`` of its own steps, so the sequences written are
        exactly ``executors * (inserted // executors // sequence_length)``. Every complete
        batch of them owes ``epochs * minibatches`` updates, and never more: the trainer
        never waits for a sequence that has not been written.
        """
        c = self.config
        executors = max(1, int(self.executors))
        sequences = executors * ((int(inserted) // executors) // c.sequence_length)
        return (sequences // c.batch_size) * self.updates_per_batch


class OnPolicySequenceAdder:
    """Writes every step into fixed-length sequences (one Reverb item per ``sequence_length`` steps).

    Sequences run on across episodes (see the module docstring for the layout). After each
    item the adder waits until the server has it: under a queue table this is the
    back-pressure that keeps executors from running ahead of the trainer (it waits in
    slices, giving up when ``should_stop()`` says the run is ending).
    """

    def __init__(self, client: Any, table: str, spec: MultiAgentSpec, sequence_length: int):
        self._writer = client.trajectory_writer(num_keep_alive_refs=int(sequence_length))
        self._table = table
        self._length = int(sequence_length)
        self._agents = list(spec.agents)
        self._with_state = spec.state is not None
        self._actions = ActionStore(spec)
        self._last: Optional[tuple] = None
        self._steps_in_sequence = 0
        self.items_written = 0
        self.steps_written = 0
        #: set by the executor's worker: whether a blocked write may be abandoned
        self.should_stop = lambda: False

    def add_first(self, timestep, extras: Dict[str, Any]) -> None:
        observations, masks = split_observations(timestep, self._agents)
        self._last = (observations, masks, extras.get("state"))

    def _policy_field(self, extras: Dict[str, Any], name: str) -> Dict[str, Any]:
        value = extras.get(name)
        if not isinstance(value, dict):
            raise MavaError(
                f"the on-policy dataset stores each step's behaviour {name!r}, but the policy's extras() "
                f"reported {sorted(extras)}; use a system whose policy reports log_probs and values (e.g. mappo)"
            )
        return value

    def add(self, actions: Dict[str, Any], next_timestep, extras: Dict[str, Any]) -> None:
        if self._last is None:
            raise RuntimeError("adder.add called before add_first")
        observations, masks, state = self._last
        log_probs = self._policy_field(extras, "log_probs")
        values = self._policy_field(extras, "values")
        policy_actions = extras.get("policy_actions") or {}
        # an agent that did not act stores zeros
        stored_actions = {a: self._actions.typed(a, policy_actions.get(a, actions.get(a))) for a in self._agents}
        next_observations, next_masks = split_observations(next_timestep, self._agents)
        step: Dict[str, Any] = {
            "observations": observations,
            "masks": masks,
            "actions": stored_actions,
            "log_probs": {a: np.float32(log_probs.get(a, 0.0)) for a in self._agents},
            "values": {a: np.float32(values.get(a, 0.0)) for a in self._agents},
            "rewards": {a: np.float32(next_timestep.reward[a]) for a in self._agents},
            "discounts": {a: np.float32(next_timestep.discount[a]) for a in self._agents},
            "next_observations": next_observations,
            "ends": np.float32(next_timestep.last()),
        }
        next_state = extras.get("state")
        if self._with_state:
            step["state"] = np.asarray(state, np.float32)
            step["next_state"] = np.asarray(next_state, np.float32)
        self._writer.append(step)
        self.steps_written += 1
        self._steps_in_sequence += 1
        if self._steps_in_sequence == self._length:
            self._write_sequence()
        self._last = None if next_timestep.last() else (next_observations, next_masks, next_state)

    def _write_sequence(self) -> None:
        self._writer.create_item(self._table, 1.0, last_steps(self._writer.history, self._length))
        self._steps_in_sequence = 0
        self.items_written += 1
        self._wait_until_written()

    def _wait_until_written(self) -> None:
        """Block until the server holds every item written (the queue's back-pressure)."""
        flush_in_slices(self._writer, 0, self.should_stop)

    def flush(self, should_stop: Optional[Callable[[], bool]] = None) -> None:
        """Send every pending item (with ``should_stop``: until it says to give up)."""
        flush_all(self._writer, should_stop)

    def close(self) -> None:
        self._writer.close()


class SamplingStats:
    """Counts of sampled batches and sequences, and of sequence keys seen more than once."""

    def __init__(self) -> None:
        self.batches_sampled = 0
        self.sequences_sampled = 0
        self.resampled_sequences = 0
        self._seen: set = set()
        self._seen_order: Deque[int] = collections.deque()

    def record(self, keys: Any) -> None:
        keys = [int(k) for k in keys]
        unique = set(keys)
        self.resampled_sequences += len(keys) - len(unique) + sum(k in self._seen for k in unique)
        for key in unique:
            self._seen.add(key)
            self._seen_order.append(key)
        while len(self._seen_order) > KEY_WINDOW:
            self._seen.discard(self._seen_order.popleft())
        self.batches_sampled += 1
        self.sequences_sampled += len(keys)


class OnPolicyIterator:
    """Turns batches of fresh sequences into ``epochs * minibatches`` minibatches each.

    Each pass over a batch shuffles its sequences (seeded) and splits them into
    ``minibatches`` equal minibatches of whole sequences. ``stats`` counts what was sampled,
    including any sequence key seen twice (``resampled_sequences``: the queue makes that
    impossible, so it checks that only fresh data is trained on).
    """

    def __init__(self, batches: Any, epochs: int, minibatches: int, seed: int = 0, stats: Optional[SamplingStats] = None):
        self._batches = batches
        self._epochs = int(epochs)
        self._minibatches = int(minibatches)
        self._rng = np.random.default_rng(seed)
        self._batch: Any = None
        self._pending: Deque[np.ndarray] = collections.deque()
        self.stats = stats if stats is not None else SamplingStats()

    def __iter__(self) -> "OnPolicyIterator":
        return self

    def __next__(self) -> Any:
        import tensorflow as tf

        if not self._pending:
            self._batch = next(self._batches)  # StopIteration (sampling timed out) propagates
            keys = self._batch.info.key.numpy()
            self.stats.record(keys)
            size = len(keys)
            for _ in range(self._epochs):
                order = self._rng.permutation(size) if self._minibatches > 1 else np.arange(size)
                self._pending.extend(np.split(order, self._minibatches))
        indices = self._pending.popleft()
        if self._minibatches == 1:
            return self._batch
        indices = tf.constant(np.sort(indices), tf.int32)
        return tf.nest.map_structure(lambda x: tf.gather(x, indices), self._batch)
