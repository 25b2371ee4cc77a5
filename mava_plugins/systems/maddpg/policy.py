"""Deterministic actors: how their outputs become actions, and the executors' exploring policy.

An actor network maps an observation to ``num_actions`` outputs:

* continuous agents: pre-activations; ``tanh`` squashes them to ``[-1, 1]`` (the *normalised*
  action) and :meth:`ActionSpace.scale` maps that to the action bounds;
* discrete agents: logits. Acting takes the (masked) argmax; the policy gradient uses a
  Gumbel-softmax sample (Jang et al. 2017; Maddison et al. 2017), a differentiable relaxation
  of a one-hot action, and critics read one-hot (replayed) or relaxed action vectors.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping

import numpy as np

from mava_plugins.components.compiled_call import CompiledCall
from mava_plugins.exploration.schedules import is_noise

MASKED_LOGIT = -1e9


@dataclasses.dataclass(frozen=True)
class ActionSpace:
    """One agent's actions as the actor and critic see them."""

    discrete: bool
    size: int  # number of discrete actions, or the length of the action vector
    low: Any = None  # continuous bounds, flat float32 arrays
    high: Any = None
    shape: tuple = ()  # the environment's action shape (continuous actions)

    @classmethod
    def from_spec(cls, agent_spec: Any) -> "ActionSpace":
        if agent_spec.discrete:
            return cls(True, agent_spec.num_actions)
        shape = tuple(agent_spec.action.shape)
        low = np.broadcast_to(np.asarray(agent_spec.action.minimum, np.float32), shape).reshape(-1)
        high = np.broadcast_to(np.asarray(agent_spec.action.maximum, np.float32), shape).reshape(-1)
        return cls(False, agent_spec.num_actions, low, high, shape)

    def scale(self, normalised: Any) -> Any:
        """Map ``[-1, 1]`` actions to ``[low, high]`` (numpy or TensorFlow)."""
        return self.low + (normalised + 1.0) * 0.5 * (self.high - self.low)

    def normalise(self, actions: Any) -> Any:
        """Map ``[low, high]`` actions to ``[-1, 1]`` (the inverse of :meth:`scale`)."""
        return 2.0 * (actions - self.low) / (self.high - self.low) - 1.0


def masked_logits(logits: Any, masks: Any) -> Any:
    """Logits with illegal actions (mask 0) pushed to a very low value (TensorFlow)."""
    return logits + (1.0 - masks) * MASKED_LOGIT


def greedy_action_vectors(space: ActionSpace, outputs: Any, masks: Any) -> Any:
    """Critic inputs for the actor's greedy actions: scaled tanh actions, or one-hot argmax."""
    import tensorflow as tf

    if space.discrete:
        return tf.one_hot(tf.argmax(masked_logits(outputs, masks), axis=-1), space.size, dtype=tf.float32)
    return space.scale(tf.tanh(outputs))


def relaxed_action_vectors(
    space: ActionSpace, outputs: Any, masks: Any, temperature: float, straight_through: bool = False
) -> Any:
    """Differentiable critic inputs for the actor's actions: scaled tanh, or a Gumbel-softmax sample.

    ``straight_through``: the discrete sample enters the critic as the one-hot of its argmax (an
    action the executors could take) while its gradient is the soft sample's."""
    import tensorflow as tf

    if not space.discrete:
        return space.scale(tf.tanh(outputs))
    uniform = tf.random.uniform(tf.shape(outputs), minval=1e-10, maxval=1.0)
    gumbel = -tf.math.log(-tf.math.log(uniform))
    soft = tf.nn.softmax((masked_logits(outputs, masks) + gumbel) / temperature, axis=-1)
    if not straight_through:
        return soft
    return soft + tf.stop_gradient(tf.one_hot(tf.argmax(soft, axis=-1), space.size, dtype=soft.dtype) - soft)


def replayed_action_vectors(space: ActionSpace, actions: Any) -> Any:
    """Critic inputs for replayed actions: the float vectors as stored, or one-hot of the indices."""
    import tensorflow as tf

    if space.discrete:
        return tf.one_hot(tf.cast(actions, tf.int32), space.size, dtype=tf.float32)
    return tf.cast(tf.reshape(actions, (tf.shape(actions)[0], -1)), tf.float32)


class DeterministicPolicy:
    """Executors' policy: the actors' greedy actions plus exploration, for every agent.

    Agents that share an actor are stacked into one batch and all actors run in one compiled
    call per step. Exploration (numpy, seeded) follows the ``exploration`` component:

    * a noise component (``gaussian_noise``, ``ornstein_uhlenbeck``): continuous agents add
      the noise to their normalised action and clip it to ``[-1, 1]``; discrete agents add it
      to their logits before the masked argmax;
    * an epsilon schedule: with probability epsilon an agent takes a uniformly random action
      (a random legal action for discrete agents, uniform in the bounds for continuous ones).

    Evaluation policies do not explore.
    """

    def __init__(
        self,
        networks: Mapping[str, Any],
        groups: Mapping[str, List[str]],
        spec: Any,
        exploration: Any,
        evaluation: bool,
        seed: int,
    ):
        import tensorflow as tf

        self._keys = list(groups)
        self._groups = {key: list(groups[key]) for key in self._keys}
        self._spaces = {agent: ActionSpace.from_spec(spec.agents[agent]) for agent in spec.agents}
        self._exploration = exploration
        self._evaluation = evaluation
        self._noise = is_noise(exploration)
        self._rng = np.random.default_rng(seed)
        self._processes = {}
        if self._noise and not evaluation:
            for index, agent in enumerate(spec.agents):
                shape = (self._spaces[agent].size,)
                self._processes[agent] = exploration.process(shape, np.random.default_rng([seed, index]))
        self.step = 0
        self.scale = 0.0 if evaluation else exploration.value(0)
        obs_specs, mask_specs, discrete = [], [], []
        for key in self._keys:
            first = spec.agents[self._groups[key][0]]
            obs_specs.append(tf.TensorSpec((None,) + tuple(first.observation.shape), tf.float32))
            mask_specs.append(tf.TensorSpec((None, first.num_actions), tf.float32))
            discrete.append(first.discrete)
        ordered = [networks[key] for key in self._keys]

        def act(observations, masks):
            # discrete: masked logits; continuous: normalised actions in [-1, 1]
            return tuple(
                masked_logits(net(obs), mask) if is_discrete else tf.tanh(net(obs))
                for net, obs, mask, is_discrete in zip(ordered, observations, masks, discrete)
            )

        self._act = CompiledCall(act, (tuple(obs_specs), tuple(mask_specs)), name="MADDPG's policy")

    def reset(self) -> None:
        """Start of an episode: reset the noise processes (Ornstein-Uhlenbeck keeps state)."""
        for process in self._processes.values():
            process.reset()

    def set_step(self, env_steps: int) -> None:
        self.step = env_steps
        if not self._evaluation:
            self.scale = self._exploration.value(env_steps)

    def select_actions(self, observations: Mapping[str, Any]) -> Dict[str, Any]:
        stacked_obs, stacked_masks = [], []
        for key in self._keys:
            agents = self._groups[key]
            stacked_obs.append(np.stack([observations[a].observation for a in agents]).astype(np.float32, copy=False))
            stacked_masks.append(np.stack([observations[a].action_mask for a in agents]).astype(np.float32, copy=False))
        outputs = self._act(tuple(stacked_obs), tuple(stacked_masks))
        actions: Dict[str, Any] = {}
        for key, key_outputs, masks in zip(self._keys, outputs, stacked_masks):
            key_outputs = key_outputs.numpy()
            for index, agent in enumerate(self._groups[key]):
                actions[agent] = self._explore(agent, key_outputs[index], masks[index])
        return actions

    def _explore(self, agent: str, output: np.ndarray, mask: np.ndarray) -> Any:
        space = self._spaces[agent]
        explore = not self._evaluation and self.scale > 0
        if space.discrete:
            if explore and self._noise:
                output = output + self._processes[agent].sample(self.scale)
            elif explore and self._rng.random() < self.scale:
                legal = np.flatnonzero(mask > 0)
                return np.int32(self._rng.choice(legal) if legal.size else 0)
            return np.int32(np.argmax(np.where(mask > 0, output, MASKED_LOGIT)))
        if explore and self._noise:
            output = np.clip(output + self._processes[agent].sample(self.scale), -1.0, 1.0)
        elif explore and self._rng.random() < self.scale:
            output = self._rng.uniform(-1.0, 1.0, output.shape)
        return np.clip(space.scale(output), space.low, space.high).astype(np.float32).reshape(space.shape)
