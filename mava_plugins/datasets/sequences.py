"""Pieces shared by the datasets that store fixed-length sequences of steps in Reverb.

Both the on-policy queue (:mod:`.on_policy`, MAPPO) and sequence replay
(:mod:`.sequence_replay`, recurrent Q-learning) write one step at a time into a Reverb
``TrajectoryWriter`` and create items from the last ``length`` steps of its history. What
they share lives here:

* :func:`split_observations`: a timestep's per-agent observations and legal-action masks;
* :class:`ActionStore`: actions typed as the table stores them (zeros for an agent that did
  not act);
* :class:`StepSpecs`: ``tf.TensorSpec`` of per-step fields with a leading sequence axis,
  for table signatures;
* :func:`last_steps`: the trajectory of the last ``length`` appended steps;
* :func:`flush_in_slices`: waiting for the server in slices, giving up when the run ends.

TensorFlow, Reverb and dm-tree are imported inside the functions that need them.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from mava_core.specs import MultiAgentSpec

#: how long one wait for the server lasts before ``should_stop()`` is asked again
FLUSH_SLICE_MS = 1_000
#: unconfirmed items a writer lets pile up before it waits for the server (Reverb warns above ~50)
MAX_IN_FLIGHT_ITEMS = 24
#: how often (in items written) a writer checks that bound
BOUND_EVERY_ITEMS = 8


def split_observations(timestep: Any, agents: Sequence[str]) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """``(observations, masks)``: float32 arrays per agent from a multi-agent timestep."""
    observations, masks = {}, {}
    for agent in agents:
        agent_obs = timestep.observation[agent]
        observations[agent] = np.asarray(agent_obs.observation, dtype=np.float32)
        masks[agent] = np.asarray(agent_obs.action_mask, dtype=np.float32)
    return observations, masks


class ActionStore:
    """Types actions as tables store them: int32 scalars (discrete) or float32 vectors (continuous)."""

    def __init__(self, spec: MultiAgentSpec):
        self.dtypes = {a: (np.int32 if s.discrete else np.float32) for a, s in spec.agents.items()}
        self.shapes = {a: (() if s.discrete else tuple(s.action.shape)) for a, s in spec.agents.items()}

    def noop(self, agent: str) -> np.ndarray:
        """Placeholder for an agent that did not act (or a padding step): zeros."""
        return np.zeros(self.shapes[agent], self.dtypes[agent])

    def typed(self, agent: str, action: Any) -> np.ndarray:
        if action is None:
            return self.noop(agent)
        return np.asarray(action, dtype=self.dtypes[agent]).reshape(self.shapes[agent])


class StepSpecs:
    """``tf.TensorSpec`` of per-step fields, each with the leading shape ``leading`` (e.g. ``(T,)``)."""

    def __init__(self, spec: MultiAgentSpec, leading: Tuple[int, ...]):
        self.spec = spec
        self.leading = tuple(leading)

    def _per_agent(self, make: Callable[[Any], Tuple[Tuple[int, ...], Any]]) -> Dict[str, Any]:
        import tensorflow as tf

        result = {}
        for agent, agent_spec in self.spec.agents.items():
            shape, dtype = make(agent_spec)
            result[agent] = tf.TensorSpec(self.leading + tuple(shape), dtype)
        return result

    def observations(self) -> Dict[str, Any]:
        import tensorflow as tf

        return self._per_agent(lambda a: (a.observation.shape, tf.float32))

    def masks(self) -> Dict[str, Any]:
        import tensorflow as tf

        return self._per_agent(lambda a: ((a.num_actions,), tf.float32))

    def actions(self) -> Dict[str, Any]:
        import tensorflow as tf

        return self._per_agent(lambda a: ((), tf.int32) if a.discrete else (a.action.shape, tf.float32))

    def scalars(self) -> Dict[str, Any]:
        import tensorflow as tf

        return self._per_agent(lambda a: ((), tf.float32))

    def flag(self) -> Any:
        """One float per step shared by all agents (episode starts, ends, validity)."""
        import tensorflow as tf

        return tf.TensorSpec(self.leading, tf.float32)

    def state(self) -> Optional[Any]:
        """The environment's global state per step (None when it has none)."""
        import tensorflow as tf

        if self.spec.state is None:
            return None
        return tf.TensorSpec(self.leading + tuple(self.spec.state.shape), tf.float32)


def last_steps(history: Any, length: int) -> Any:
    """The trajectory (one column per field) of the last ``length`` steps of a writer's history."""
    import tree

    return tree.map_structure(lambda column: column[-length:], history)


def flush_all(writer: Any, should_stop: Optional[Callable[[], bool]] = None) -> None:
    """Send every pending item: wait as long as it takes, or with ``should_stop`` until it says to give up."""
    if should_stop is None:
        writer.flush()
    else:
        flush_in_slices(writer, 0, should_stop)


def flush_in_slices(writer: Any, block_until_num_items: int, should_stop: Callable[[], bool]) -> None:
    """Wait until at most ``block_until_num_items`` items are unconfirmed by the server.

    Waits in slices of ``FLUSH_SLICE_MS`` and gives up once ``should_stop()`` says the run is
    ending, so a rate limiter's back-pressure never holds up a shutdown.
    """
    import reverb

    while True:
        try:
            writer.flush(block_until_num_items=block_until_num_items, timeout_ms=FLUSH_SLICE_MS)
            return
        except reverb.errors.DeadlineExceededError:
            if should_stop():
                return
