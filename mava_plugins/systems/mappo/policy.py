"""MAPPO's stochastic policies: masked categoricals and clipped Gaussians, batched across agents.

Discrete agents act from a categorical distribution over their logits with illegal actions
(mask 0) set to ``MASKED_LOGIT``, so they get exactly zero probability. Continuous agents
act from a Gaussian in a normalised action space ``u`` (``[-1, 1]`` maps onto the action
bounds) with a learned, state-independent log standard deviation; the environment receives
``low + (clip(u, -1, 1) + 1) / 2 * (high - low)`` while the unclipped ``u`` is what the
policy reports as ``policy_actions`` and what is trained on (the clip is part of the
environment, so the likelihood ratio stays exact).

Sampling happens in numpy with a seeded generator (Gumbel-max for categoricals), so acting
is reproducible under a seed. While training, the policy also reports each agent's
behaviour log-probability and the value function's estimate through ``extras()``.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from mava_core.errors import MavaError
from mava_plugins.components.compiled_call import CompiledCall

#: logit given to illegal actions: exp underflows to exactly zero probability in float32
MASKED_LOGIT = -1e9
LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------- distributions (TensorFlow)
def masked_log_softmax(logits, masks):
    """Log-probabilities of a categorical over ``logits`` where ``masks`` is 0 for illegal actions.

    An all-zero mask (nothing legal, e.g. a finished agent) leaves the logits unmasked.
    """
    import tensorflow as tf

    legal = masks > 0
    legal = tf.logical_or(legal, tf.logical_not(tf.reduce_any(legal, axis=-1, keepdims=True)))
    return tf.nn.log_softmax(tf.where(legal, logits, MASKED_LOGIT), axis=-1)


def categorical_entropy(log_probs):
    """Entropy of categoricals given their (masked) log-probabilities; illegal actions add 0."""
    import tensorflow as tf

    return -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=-1)


def gaussian_log_prob(mean, log_std, actions):
    """Log-density of a diagonal Gaussian, summed over the action dimensions."""
    import tensorflow as tf

    z = (actions - mean) * tf.exp(-log_std)
    return tf.reduce_sum(-0.5 * tf.square(z) - log_std - 0.5 * LOG_2PI, axis=-1)


def gaussian_entropy(log_std):
    import tensorflow as tf

    return tf.reduce_sum(log_std + 0.5 * (LOG_2PI + 1.0), axis=-1)


def action_scaling(agent_spec: Any) -> Tuple[np.ndarray, np.ndarray, bool]:
    """(centre, half-range, bounded) mapping a normalised action in ``[-1, 1]`` onto the bounds."""
    shape = tuple(agent_spec.action.shape)
    low = np.broadcast_to(np.asarray(getattr(agent_spec.action, "minimum", -np.inf), np.float64), shape)
    high = np.broadcast_to(np.asarray(getattr(agent_spec.action, "maximum", np.inf), np.float64), shape)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        return np.zeros(shape), np.ones(shape), False
    return (high + low) / 2.0, (high - low) / 2.0, True


# -------------------------------------------------------------------------------- policy
class MAPPOPolicy:
    """Acts for every agent from the shared or per-agent policy networks of its group.

    All agents of one network key are stacked into one batch and every network (and, while
    training, every value network) is evaluated in one compiled call per step. Evaluation
    policies act greedily (most likely legal action; the Gaussian's mean) unless
    ``greedy_evaluation`` is false.
    """

    def __init__(self, networks: Any, spec: Any, architecture: Any, config: Any, evaluation: bool, seed: int):
        import tensorflow as tf

        self._spec = spec
        self._keys = list(networks.groups)
        self._groups = {key: list(networks.groups[key]) for key in self._keys}
        self._discrete = {key: spec.agents[self._groups[key][0]].discrete for key in self._keys}
        self._scaling = {key: action_scaling(spec.agents[self._groups[key][0]]) for key in self._keys if not self._discrete[key]}
        self._evaluation = evaluation
        self._greedy = evaluation and config.greedy_evaluation
        self._with_values = not evaluation
        self._uses_state = bool(getattr(architecture, "uses_state", False))
        self._state_shape = tuple(spec.state.shape) if spec.state is not None else (1,)
        self._min_log_std, self._max_log_std = config.min_log_std, config.max_log_std
        self._rng = np.random.default_rng(seed)
        self._state: Optional[np.ndarray] = None
        self._extras: Dict[str, Any] = {}
        self.step = 0

        keys, groups = self._keys, self._groups
        policies = [networks.policies[key] for key in keys]
        values = [networks.values[key] for key in keys]
        log_stds = [networks.log_stds.get(key) for key in keys]
        discrete = [self._discrete[key] for key in keys]
        min_log_std, max_log_std = self._min_log_std, self._max_log_std
        with_values = self._with_values

        def act(observations, masks, state):
            per_agent = {}
            for key, stacked in zip(keys, observations):
                for index, agent in enumerate(groups[key]):
                    per_agent[agent] = stacked[index : index + 1]
            outputs, stds, estimates = [], [], []
            for key, net, value_net, log_std, is_discrete, obs, mask in zip(
                keys, policies, values, log_stds, discrete, observations, masks
            ):
                out = net(obs)
                if is_discrete:
                    outputs.append(masked_log_softmax(out, mask))
                    stds.append(tf.zeros((1,), tf.float32))
                else:
                    outputs.append(out)
                    stds.append(tf.clip_by_value(log_std, min_log_std, max_log_std))
                if with_values:
                    inputs = [architecture.critic_inputs(spec, a, per_agent, None, state) for a in groups[key]]
                    estimates.append(value_net(tf.concat(inputs, axis=0))[:, 0])
                else:
                    estimates.append(tf.zeros((len(groups[key]),), tf.float32))
            return tuple(outputs), tuple(stds), tuple(estimates)

        obs_specs, mask_specs = [], []
        for key in keys:
            first = spec.agents[groups[key][0]]
            obs_specs.append(tf.TensorSpec((len(groups[key]),) + tuple(first.observation.shape), tf.float32))
            mask_specs.append(tf.TensorSpec((len(groups[key]), first.num_actions), tf.float32))
        state_spec = tf.TensorSpec((1,) + self._state_shape, tf.float32)
        self._act = CompiledCall(act, (tuple(obs_specs), tuple(mask_specs), state_spec), name="MAPPO's policy")

    # ------------------------------------------------------------ executor API
    def reset(self) -> None:
        """Feedforward policies keep no per-episode state."""

    def set_step(self, env_steps: int) -> None:
        self.step = env_steps

    def observe_global_state(self, state: Any) -> None:
        """The environment's global state before the next action (fed by the mappo plugin's hooks)."""
        self._state = None if state is None else np.asarray(state, np.float32)

    def extras(self) -> Dict[str, Any]:
        """Behaviour log-probabilities, values (and continuous policies' unclipped actions) of the last step."""
        return self._extras

    def select_actions(self, observations: Mapping[str, Any]) -> Dict[str, Any]:
        stacked_obs, stacked_masks = [], []
        for key in self._keys:
            agents = self._groups[key]
            stacked_obs.append(np.stack([observations[a].observation for a in agents]).astype(np.float32, copy=False))
            stacked_masks.append(np.stack([observations[a].action_mask for a in agents]).astype(np.float32, copy=False))
        outputs, log_stds, estimates = self._act(tuple(stacked_obs), tuple(stacked_masks), self._state_input())
        actions: Dict[str, Any] = {}
        log_probs: Dict[str, np.float32] = {}
        values: Dict[str, np.float32] = {}
        policy_actions: Dict[str, np.ndarray] = {}
        rng = self._rng
        for key, output, log_std, estimate in zip(self._keys, outputs, log_stds, estimates):
            output, estimate = output.numpy(), estimate.numpy()
            agents = self._groups[key]
            if self._discrete[key]:
                scores = output if self._greedy else output + rng.gumbel(size=output.shape)
                chosen = np.argmax(scores, axis=-1)
                for index, agent in enumerate(agents):
                    actions[agent] = np.int32(chosen[index])
                    log_probs[agent] = np.float32(output[index, chosen[index]])
            else:
                log_std = log_std.numpy().astype(np.float64)
                mean = output.astype(np.float64)
                noise = np.zeros_like(mean) if self._greedy else rng.standard_normal(mean.shape)
                sample = mean + np.exp(log_std) * noise
                log_density = np.sum(-0.5 * np.square(noise) - log_std - 0.5 * LOG_2PI, axis=-1)
                centre, half, bounded = self._scaling[key]
                shape = tuple(self._spec.agents[agents[0]].action.shape)
                for index, agent in enumerate(agents):
                    u = sample[index].reshape(shape)
                    env_action = centre + half * np.clip(u, -1.0, 1.0) if bounded else u
                    actions[agent] = env_action.astype(np.float32)
                    policy_actions[agent] = u.astype(np.float32)
                    log_probs[agent] = np.float32(log_density[index])
            for index, agent in enumerate(agents):
                values[agent] = np.float32(estimate[index])
        if self._with_values:
            self._extras = {"log_probs": log_probs, "values": values}
            if policy_actions:
                self._extras["policy_actions"] = policy_actions
        return actions

    def _state_input(self) -> np.ndarray:
        if self._uses_state and self._with_values:
            if self._state is None:
                raise MavaError(
                    "the state-based value function needs the environment's global state before each action, "
                    "but none was observed (is the mappo plugin, which feeds it, blocked?)"
                )
            return self._state.reshape((1,) + self._state_shape)
        return np.zeros((1,) + self._state_shape, np.float32)
