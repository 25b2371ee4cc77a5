"""Transition replay: a Reverb table of n-step transitions, its adder and its iterator."""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from mava_core.config import bounded
from mava_core.errors import ConfigError

TABLE = "transitions"
SAMPLE_TIMEOUT_MS = 2_000


class TransitionReplay:
    """Uniform or prioritised replay of n-step transitions, rate-limited by samples per insert.

    Under backends that run nodes concurrently the table's ``SampleToInsertRatio`` limiter
    keeps trainer and executors at ``samples_per_insert``; the local backend interleaves
    them itself (``trainer_steps_due``) and the table only enforces ``min_size``.

    **Blocks** (``block_size`` G > 1): each Reverb item holds G transitions, which an
    executor appends once (one block writer shared by its ``run.envs_per_executor`` copies).
    Sizes, the rate limiter and batches are counted in items of G transitions, and a batch of
    ``batch_size`` transitions is ``batch_size / G`` uniformly sampled blocks. With G equal to
    the number of copies a block holds about one transition of each copy, from K independent
    episodes; with G larger than K it holds consecutive steps of the same episodes, so keep G
    at most K. Prioritised replay then samples blocks: a block's priority is the largest of its
    transitions' new priorities.
    """

    @dataclasses.dataclass
    class Config:
        max_size: int = bounded(100_000, minimum=1, help="transitions kept (oldest removed first)")
        min_size: int = bounded(1_000, minimum=1, help="transitions before training starts")
        batch_size: int = bounded(64, minimum=1)
        samples_per_insert: float = bounded(16.0, minimum=0.0, help="sampled transitions per inserted transition")
        error_buffer: float = bounded(0.0, minimum=0.0, help="0: derived from min_size and samples_per_insert")
        n_step: int = bounded(1, minimum=1, maximum=100)
        prioritised: bool = False
        priority_exponent: float = bounded(0.6, minimum=0.0, maximum=1.0)
        importance_exponent: float = bounded(0.4, minimum=0.0, maximum=1.0)
        prefetch: int = bounded(4, minimum=0)
        stack_agents: bool = bounded(True, help="one [agents, ...] column per field when all agents share their shapes "
                                     "(faster writes and samples; learners see per-agent dicts either way)")
        block_size: int = bounded(0, minimum=0, help="transitions per Reverb item, appended once: 0: the largest common "
                                  "divisor of run.envs_per_executor and batch_size (1 with one copy); 1: one item per "
                                  "transition")

        def check(self, prefix: str = "") -> None:
            if self.min_size > self.max_size:
                raise ConfigError(f"{prefix}min_size", f"must be <= {prefix}max_size ({self.max_size}), got {self.min_size}")

    def __init__(self, config: "TransitionReplay.Config"):
        self.config = config
        # recorded when the tables are made (see trainer_steps_due)
        self.executors = 1
        self.envs_per_executor = 1
        self.table_block = 1
        # one block writer per executor (keyed by its Reverb client), shared by the executor's copies
        self._block_writers: Dict[int, Tuple[Any, Any]] = {}

    def block(self, builder: Any) -> int:
        """Transitions per item (``block_size``, resolved): checks that batches are whole blocks."""
        c = self.config
        block = c.block_size or math.gcd(max(1, int(builder.run.envs_per_executor)), c.batch_size)
        if c.batch_size % block:
            raise ConfigError("dataset.block_size", f"a batch must be whole blocks: dataset.batch_size ({c.batch_size}) "
                              f"is not a multiple of the block size {block}")
        return block

    def stacked(self, builder: Any) -> bool:
        """Whether this run's table uses the stacked layout (``stack_agents`` and agents that share their shapes)."""
        from mava_plugins.datasets.transitions import homogeneous_agents

        return bool(self.config.stack_agents) and homogeneous_agents(builder.recorded_spec)

    # ------------------------------------------------------------------ tables
    def tables(self, builder: Any) -> List[Any]:
        import reverb

        from mava_plugins.datasets.transitions import transition_signature

        c = self.config
        block = self.block(builder)
        self.executors, self.envs_per_executor = max(1, builder.run.executors), max(1, builder.run.envs_per_executor)
        self.table_block = block
        min_items = math.ceil(c.min_size / block)  # the table counts items: blocks of `block` transitions
        if builder.context.backend.interleaves_nodes or c.samples_per_insert == 0:
            limiter = reverb.rate_limiters.MinSize(min_items)
        else:
            error_buffer = c.error_buffer or max(c.min_size * c.samples_per_insert, 2.0 * c.batch_size * 8)
            limiter = reverb.rate_limiters.SampleToInsertRatio(c.samples_per_insert, min_items, error_buffer / block)
        sampler = reverb.selectors.Prioritized(c.priority_exponent) if c.prioritised else reverb.selectors.Uniform()
        return [
            reverb.Table(
                name=TABLE,
                sampler=sampler,
                remover=reverb.selectors.Fifo(),
                max_size=max(1, c.max_size // block),
                rate_limiter=limiter,
                signature=transition_signature(builder.recorded_spec, stacked=self.stacked(builder), block=block),
            )
        ]

    # ------------------------------------------------------------------- adder
    def adder(self, builder: Any, client: Any):
        from mava_plugins.datasets.adders import NStepTransitionAdder

        gamma = getattr(builder.system_config, "discount", 0.99)
        block = self.block(builder)
        writer = None
        if block > 1:  # every copy of this executor (same client) feeds one block writer
            from mava_plugins.datasets.transition_writers import BlockTransitionWriter

            if id(client) not in self._block_writers:
                self._block_writers[id(client)] = (client, BlockTransitionWriter(client, TABLE, block))
            writer = self._block_writers[id(client)][1]
        return NStepTransitionAdder(client, TABLE, builder.recorded_spec, self.config.n_step, gamma, stacked=self.stacked(builder),
                                    writer=writer)

    # ---------------------------------------------------------------- iterator
    def iterator(self, builder: Any, server_address: str):
        from mava_plugins.datasets.transitions import unblock, unstack_agents

        block = self.block(builder)
        steps: List[Callable[[Any], Any]] = []
        if block > 1:
            steps.append(functools.partial(unblock, block=block))
        if self.stacked(builder):
            unstack = functools.partial(unstack_agents, agents=list(builder.recorded_spec.agents))
            steps.append(lambda sample: sample._replace(data=unstack(sample.data)))
        transform = functools.partial(_apply_in_order, steps) if steps else None
        return replay_iterator(builder, server_address, TABLE, self.config.batch_size // block, self.config.prefetch,
                               transform, max_in_flight=2 * self.config.batch_size // block)

    def trainer_steps_due(self, inserted: int) -> int:
        """Training steps owed after ``inserted`` environment steps, when the backend interleaves nodes.

        Up to ``n_step - 1`` steps of each copy are not transitions yet, and up to ``block - 1``
        finished transitions per executor wait for their block, so training starts only once
        ``min_size`` transitions are surely in the table (the table's sampler would otherwise
        wait for them forever).
        """
        c = self.config
        unwritten = self.executors * ((self.table_block - 1) + self.envs_per_executor * (c.n_step - 1))
        written = inserted - unwritten
        if written < c.min_size:
            return 0
        return int((written - c.min_size + 1) * c.samples_per_insert / c.batch_size)

    # -------------------------------------------------------------- priorities
    def importance_weights(self, probabilities, table_size):
        """Importance-sampling weights for prioritised replay (normalised to max 1)."""
        return importance_weights(probabilities, table_size, self.config.importance_exponent)

    def update_priorities(self, client: Any, keys: Any, priorities: Any) -> None:
        if self.config.prioritised:
            write_priorities(client, TABLE, keys, priorities)


def _apply_in_order(steps: List[Callable[[Any], Any]], sample: Any) -> Any:
    for step in steps:
        sample = step(sample)
    return sample


def replay_iterator(builder: Any, server_address: str, table: str, batch_size: int, prefetch: int,
                    transform: Optional[Callable[[Any], Any]] = None, max_in_flight: Optional[int] = None):
    """Batches of ``batch_size`` items sampled from a replay table (shared by transition and sequence replay).

    ``transform`` (optional) maps each batched ``reverb.ReplaySample`` inside the pipeline,
    before prefetching. ``max_in_flight``: samples each worker requests ahead (default ``2 * batch_size``).

    Under concurrent backends the iterator ends when no data comes for ``SAMPLE_TIMEOUT_MS``,
    so the trainer can notice that the program is stopping instead of blocking forever.
    """
    import reverb
    import tensorflow as tf

    interleaved = builder.context.backend.interleaves_nodes
    dataset = reverb.TrajectoryDataset.from_table_signature(
        server_address=server_address,
        table=table,
        max_in_flight_samples_per_worker=max_in_flight or 2 * batch_size,
        rate_limiter_timeout_ms=-1 if interleaved else SAMPLE_TIMEOUT_MS,
    )
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if transform is not None:
        dataset = dataset.map(transform)
    if prefetch:
        dataset = dataset.prefetch(prefetch)
    options = tf.data.Options()
    options.experimental_deterministic = True
    return iter(dataset.with_options(options))


def importance_weights(probabilities, table_size, exponent: float):
    """``(N * P(i)) ** -exponent``, normalised to a maximum of 1 (Schaul et al. 2016)."""
    import tensorflow as tf

    probabilities = tf.cast(probabilities, tf.float32)  # Reverb reports float64
    weights = tf.pow(tf.cast(table_size, tf.float32) * probabilities, -exponent)
    return weights / tf.reduce_max(weights)


def write_priorities(client: Any, table: str, keys: Any, priorities: Any) -> None:
    """Write new priorities (plus a small epsilon, so none is 0) for the sampled keys.

    A key sampled more than once (a block's transitions share their item's key) gets the
    largest of its priorities.
    """
    updates: Dict[int, float] = {}
    for key, priority in zip(np.asarray(keys), np.asarray(priorities) + 1e-6):
        updates[int(key)] = max(float(priority), updates.get(int(key), 0.0))
    client.mutate_priorities(table, updates=updates)
