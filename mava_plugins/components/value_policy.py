"""Epsilon-greedy action selection over Q-values, batched across agents and environment copies.

All agents that share a network are stacked into one batch (over every environment copy of a
vectorised executor, ``select_actions_batch``), and every network is evaluated in a single
compiled call per environment step; exploration happens in numpy, vectorised over the batch,
with a seeded generator, so acting is reproducible under a seed.

A policy that selects actions another way from the same Q-networks (say, softmax over
Q-values) subclasses :class:`EpsilonGreedyPolicy` and overrides its two extension points:
:meth:`~EpsilonGreedyPolicy.network_outputs`, what the compiled call computes per group
(here, the greedy legal actions), and :meth:`~EpsilonGreedyPolicy.choose`, how those outputs
become actions in numpy (here, epsilon-greedy). Stacking, the single compiled call and
batching over environment copies (``select_actions_batch``) stay as they are
(docs/systems-authoring.md).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from mava_plugins.components.compiled_call import CompiledCall

MASKED_VALUE = -1e9


def masked_argmax(q_values, masks):
    """Greedy action among legal ones (``masks`` is 1 for legal actions)."""
    import tensorflow as tf

    return tf.argmax(q_values + (1.0 - masks) * MASKED_VALUE, axis=-1, output_type=tf.int32)


class EpsilonGreedyPolicy:
    """Acts greedily on Q-values with probability 1 - epsilon, else uniformly among legal actions."""

    def __init__(
        self,
        networks: Mapping[str, Any],
        groups: Mapping[str, List[str]],
        spec: Any,
        exploration: Any,
        evaluation: bool,
        seed: int,
        evaluation_epsilon: float = 0.0,
    ):
        import tensorflow as tf

        self._keys = list(groups)
        self._groups = {key: list(groups[key]) for key in self._keys}
        self._exploration = exploration
        self._evaluation = evaluation
        self._evaluation_epsilon = evaluation_epsilon
        self._rng = np.random.default_rng(seed)
        self.step = 0
        self.epsilon = evaluation_epsilon if evaluation else exploration.value(0)
        obs_specs, mask_specs = [], []
        for key in self._keys:
            first = spec.agents[self._groups[key][0]]
            obs_specs.append(tf.TensorSpec((None,) + tuple(first.observation.shape), tf.float32))
            mask_specs.append(tf.TensorSpec((None, first.num_actions), tf.float32))
        self._greedy = self._compile([networks[key] for key in self._keys], tuple(obs_specs), tuple(mask_specs))

    def network_outputs(self, network: Any, observations, masks):
        """What the compiled call computes for one group (traced by TensorFlow): the greedy legal actions ``[rows]``.

        ``observations`` is ``[rows, *obs]`` and ``masks`` ``[rows, A]`` (1 for legal actions).
        """
        return masked_argmax(network(observations), masks)

    def _compile(self, ordered: List[Any], obs_specs: tuple, mask_specs: tuple) -> Any:
        """One compiled call computing every group's ``network_outputs``."""

        def greedy(observations, masks):
            return tuple(self.network_outputs(net, obs, mask) for net, obs, mask in zip(ordered, observations, masks))

        return CompiledCall(greedy, (obs_specs, mask_specs), name=f"{type(self).__name__}'s compiled call")

    def reset(self) -> None:
        """Feedforward policies keep no per-episode state."""

    def set_step(self, env_steps: int) -> None:
        self.step = env_steps
        if not self._evaluation:
            self.epsilon = self._exploration.value(env_steps)

    def _stack(self, observations: Sequence[Mapping[str, Any]]):
        """Each group's observations and legal-action masks over environment copies.

        ``observations`` holds one observation dict per copy; a group's arrays are
        ``[copies * agents, ...]``, copy-major (row ``c * agents + i`` is copy ``c``'s agent ``i``).
        """
        stacked_obs, stacked_masks = [], []
        for key in self._keys:
            agents = self._groups[key]
            obs = np.asarray([[copy[a].observation for a in agents] for copy in observations], np.float32)
            masks = np.asarray([[copy[a].action_mask for a in agents] for copy in observations], np.float32)
            stacked_obs.append(obs.reshape((-1,) + obs.shape[2:]))
            stacked_masks.append(masks.reshape((-1,) + masks.shape[2:]))
        return tuple(stacked_obs), tuple(stacked_masks)

    def choose(self, greedy: Sequence[np.ndarray], stacked_masks: tuple) -> List[np.ndarray]:
        """Per group, the actions ``[rows]`` (int32) from its ``network_outputs`` (numpy) and legal-action masks.

        Here: the greedy actions, each replaced with probability epsilon by a uniform legal one.

        Vectorised over the rows: a random legal action is the argmax of uniform noise over the
        legal actions (action 0 when none is legal).
        """
        rng, epsilon = self._rng, self.epsilon
        chosen = []
        for key_actions, masks in zip(greedy, stacked_masks):
            actions = np.asarray(key_actions, np.int32).copy()
            if epsilon > 0:
                explore = rng.random(actions.shape[0]) < epsilon
                if explore.any():
                    noise = rng.random((int(explore.sum()), masks.shape[-1]))
                    noise[masks[explore] <= 0] = -1.0
                    actions[explore] = noise.argmax(axis=-1)
            chosen.append(actions)
        return chosen

    def _per_copy(self, chosen: List[np.ndarray], copies: int) -> List[Dict[str, np.int32]]:
        """The groups' action rows as one ``{agent: action}`` dict per environment copy."""
        result: List[Dict[str, np.int32]] = [{} for _ in range(copies)]
        for key, actions in zip(self._keys, chosen):
            agents = self._groups[key]
            rows = actions.reshape(copies, len(agents))
            for copy, row in zip(result, rows):
                copy.update(zip(agents, row))
        return result

    def select_actions_batch(self, observations: Sequence[Mapping[str, Any]]) -> List[Dict[str, np.int32]]:
        """Every agent's action in every environment copy, from one compiled call over all of them."""
        stacked_obs, stacked_masks = self._stack(observations)
        greedy = self._greedy(stacked_obs, stacked_masks)
        return self._per_copy(self.choose([g.numpy() for g in greedy], stacked_masks), len(observations))

    def select_actions(self, observations: Mapping[str, Any]) -> Dict[str, np.int32]:
        return self.select_actions_batch([observations])[0]


class RecurrentEpsilonGreedyPolicy(EpsilonGreedyPolicy):
    """Epsilon-greedy over recurrent Q-networks: carries each agent's state across steps.

    ``reset()`` (at every episode start) sets every agent's state to zeros; each
    ``select_actions`` steps all networks in one compiled call and keeps the new states.
    ``extras()`` reports ``core_state``, each agent's state *before* its last action (the
    state that action was chosen from), which the sequence adder stores so the learner can
    start its unroll from it.
    """

    def _compile(self, ordered: List[Any], obs_specs: tuple, mask_specs: tuple) -> Any:
        import tensorflow as tf

        self._state_sizes = [int(net.state_size) for net in ordered]
        state_specs = tuple(tf.TensorSpec((None, size), tf.float32) for size in self._state_sizes)
        self.reset()

        def step(observations, masks, states):
            actions, new_states = [], []
            for net, obs, mask, state in zip(ordered, observations, masks, states):
                q_values, new_state = net(obs, state)
                actions.append(masked_argmax(q_values, mask))
                new_states.append(new_state)
            return tuple(actions), tuple(new_states)

        return CompiledCall(step, (obs_specs, mask_specs, state_specs), name=f"{type(self).__name__}'s compiled call")

    def reset(self) -> None:
        """Start of an episode: every agent's state is zeros."""
        self._states = tuple(
            np.zeros((len(self._groups[key]), size), np.float32) for key, size in zip(self._keys, self._state_sizes)
        )
        self._acted_from = self._states

    def select_actions(self, observations: Mapping[str, Any]) -> Dict[str, np.int32]:
        stacked_obs, stacked_masks = self._stack([observations])
        greedy, new_states = self._greedy(stacked_obs, stacked_masks, self._states)
        self._acted_from = self._states
        self._states = tuple(state.numpy() for state in new_states)
        return self._per_copy(self.choose([g.numpy() for g in greedy], stacked_masks), 1)[0]

    def select_actions_batch(self, observations: Sequence[Mapping[str, Any]]) -> List[Dict[str, np.int32]]:
        """Not supported: the recurrent state belongs to one episode of one environment."""
        raise NotImplementedError("recurrent policies act in one environment copy (run.envs_per_executor=1)")

    def extras(self) -> Dict[str, Any]:
        """``{"core_state": {agent: state}}``: the state each agent's last action was chosen from."""
        core = {}
        for key, states in zip(self._keys, self._acted_from):
            for index, agent in enumerate(self._groups[key]):
                core[agent] = states[index]
        return {"core_state": core}
