"""Transition replay: a Reverb table of n-step transitions, its adder and its iterator."""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, List, Optional

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

        def check(self, prefix: str = "") -> None:
            if self.min_size > self.max_size:
                raise ConfigError(f"{prefix}min_size", f"must be <= {prefix}max_size ({self.max_size}), got {self.min_size}")

    def __init__(self, config: "TransitionReplay.Config"):
        self.config = config

    def stacked(self, builder: Any) -> bool:
        """Whether this run's table uses the stacked layout (``stack_agents`` and agents that share their shapes)."""
        from mava_plugins.datasets.transitions import homogeneous_agents

        return bool(self.config.stack_agents) and homogeneous_agents(builder.env_spec)

    # ------------------------------------------------------------------ tables
    def tables(self, builder: Any) -> List[Any]:
        import reverb

        from mava_plugins.datasets.transitions import transition_signature

        c = self.config
        if builder.context.backend.interleaves_nodes or c.samples_per_insert == 0:
            limiter = reverb.rate_limiters.MinSize(c.min_size)
        else:
            error_buffer = c.error_buffer or max(c.min_size * c.samples_per_insert, 2.0 * c.batch_size * 8)
            limiter = reverb.rate_limiters.SampleToInsertRatio(c.samples_per_insert, c.min_size, error_buffer)
        sampler = reverb.selectors.Prioritized(c.priority_exponent) if c.prioritised else reverb.selectors.Uniform()
        return [
            reverb.Table(
                name=TABLE,
                sampler=sampler,
                remover=reverb.selectors.Fifo(),
                max_size=c.max_size,
                rate_limiter=limiter,
                signature=transition_signature(builder.env_spec, stacked=self.stacked(builder)),
            )
        ]

    # ------------------------------------------------------------------- adder
    def adder(self, builder: Any, client: Any):
        from mava_plugins.datasets.adders import NStepTransitionAdder

        gamma = getattr(builder.system_config, "discount", 0.99)
        return NStepTransitionAdder(client, TABLE, builder.env_spec, self.config.n_step, gamma, stacked=self.stacked(builder))

    # ---------------------------------------------------------------- iterator
    def iterator(self, builder: Any, server_address: str):
        transform = None
        if self.stacked(builder):
            from mava_plugins.datasets.transitions import unstack_agents

            agents = list(builder.env_spec.agents)
            transform = functools.partial(unstack_agents, agents=agents)
        return replay_iterator(builder, server_address, TABLE, self.config.batch_size, self.config.prefetch, transform)

    def trainer_steps_due(self, inserted: int) -> int:
        """Training steps owed after ``inserted`` transitions, when the backend interleaves nodes."""
        c = self.config
        if inserted < c.min_size:
            return 0
        return int((inserted - c.min_size + 1) * c.samples_per_insert / c.batch_size)

    # -------------------------------------------------------------- priorities
    def importance_weights(self, probabilities, table_size):
        """Importance-sampling weights for prioritised replay (normalised to max 1)."""
        return importance_weights(probabilities, table_size, self.config.importance_exponent)

    def update_priorities(self, client: Any, keys: Any, priorities: Any) -> None:
        if self.config.prioritised:
            write_priorities(client, TABLE, keys, priorities)


def replay_iterator(builder: Any, server_address: str, table: str, batch_size: int, prefetch: int,
                    transform: Optional[Callable[[Any], Any]] = None):
    """Batches sampled from a replay table (shared by transition and sequence replay).

    ``transform`` (optional) maps each batch's data inside the pipeline, before prefetching.

    Under concurrent backends the iterator ends when no data comes for ``SAMPLE_TIMEOUT_MS``,
    so the trainer can notice that the program is stopping instead of blocking forever.
    """
    import reverb
    import tensorflow as tf

    interleaved = builder.context.backend.interleaves_nodes
    dataset = reverb.TrajectoryDataset.from_table_signature(
        server_address=server_address,
        table=table,
        max_in_flight_samples_per_worker=2 * batch_size,
        rate_limiter_timeout_ms=-1 if interleaved else SAMPLE_TIMEOUT_MS,
    )
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if transform is not None:
        dataset = dataset.map(lambda sample: reverb.ReplaySample(sample.info, transform(sample.data)))
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
    """Write new priorities (plus a small epsilon, so none is 0) for the sampled keys."""
    updates = {int(k): float(p) for k, p in zip(np.asarray(keys), np.asarray(priorities) + 1e-6)}
    client.mutate_priorities(table, updates=updates)
