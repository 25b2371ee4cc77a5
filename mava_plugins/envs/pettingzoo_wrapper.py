"""A :class:`~mava_core.environment.MultiAgentEnvironment` around a PettingZoo ``ParallelEnv``.

The wrapper keeps every agent of ``possible_agents`` in every timestep: an agent that has
left the episode is reported with a zero observation, zero reward, discount 0 and an
all-ones action mask, and its actions are dropped before they reach PettingZoo. Discounts
tell termination (0.0) from truncation by a time limit (1.0). Observations are flattened
to float32 vectors (:mod:`mava_plugins.envs.pettingzoo_common`, shared with the turn-based
wrapper in :mod:`mava_plugins.envs.pettingzoo_aec_wrapper`).

For mpe2's tasks the step skips PettingZoo's parallel conversion and its checking wrappers'
per-attribute indirection, and steps the turn-based core itself with the same checks and
results (:mod:`mava_plugins.envs.pettingzoo_direct`); ``direct_step=False`` turns that off.

Everything that does not change during a run (agent lists, specs, the all-ones masks and
the zero observations of dead agents) is computed once, in the constructor, so a step
costs little more than the PettingZoo step itself.

PettingZoo and gymnasium are only needed by the environment handed in: this module
imports neither at import time.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import dm_env

from mava_core.environment import first_timestep, next_timestep
from mava_core.errors import MavaError
from mava_core.specs import AgentObservation, MultiAgentSpec
from mava_plugins.envs.pettingzoo_common import AgentIO, PettingZooEnvironmentBase, infos_carry_masks, probe_state
from mava_plugins.envs.pettingzoo_direct import DirectParallelStep


class PettingZooParallelEnvironment(PettingZooEnvironmentBase):
    """Wraps a PettingZoo ``ParallelEnv`` as a Mava multi-agent environment.

    Args:
        env: the PettingZoo parallel environment.
        seed: seed of the first ``reset()``; later resets continue from the env's RNG.
        name: used in error messages and ``repr``.
        has_action_masks: whether masks come from the observations or infos. ``None``
            (default) detects it from the observation space and the infos of a probe reset.
        direct_step: step an mpe2 task's turn-based core directly (the same results, about
            half the cost; see :mod:`mava_plugins.envs.pettingzoo_direct`). Other
            environments always step through PettingZoo.
    """

    def __init__(
        self,
        env: Any,
        seed: Optional[int] = 0,
        name: str = "pettingzoo",
        has_action_masks: Optional[bool] = None,
        direct_step: bool = True,
    ):
        super().__init__(env, seed, name)
        self._direct = DirectParallelStep.for_env(env, name) if direct_step else None
        self._convert_actions = any(io.action_fn is not None for io in self._io.values())
        self._any_dict_obs = any(io.dict_obs for io in self._io.values())

        # A probe reset (with the run's seed, which the first real reset repeats) tells
        # whether infos carry action masks and whether ``state()`` works.
        _, infos = env.reset(seed=seed)
        self._info_masks = infos_carry_masks(infos)
        state_spec = probe_state(env)
        if has_action_masks is None:
            has_action_masks = self._any_dict_obs or self._info_masks
        self._spec = MultiAgentSpec(
            agents={agent: io.spec for agent, io in self._io.items()},
            state=state_spec,
            has_action_masks=bool(has_action_masks),
        )

    @property
    def steps_directly(self) -> bool:
        """Whether steps bypass PettingZoo's parallel conversion (mpe2 tasks, ``direct_step=True``)."""
        return self._direct is not None

    # ------------------------------------------------------------------------- dm_env API
    def reset(self) -> dm_env.TimeStep:
        observations, infos = self._env.reset(seed=self._reset_seed())
        self._done = dict.fromkeys(self._agents, False)
        self._reset_next_step = False
        info_masks = infos if self._info_masks else None
        return first_timestep(
            self._spec,
            {agent: self._observe(self._io[agent], observations.get(agent), info_masks, agent) for agent in self._agents},
        )

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        live = self._env.agents
        try:
            if self._convert_actions:
                io = self._io
                pz_actions = {}
                for agent in live:
                    fn = io[agent].action_fn
                    pz_actions[agent] = actions[agent] if fn is None else fn(actions[agent])
            else:
                pz_actions = {agent: actions[agent] for agent in live}
        except KeyError as error:
            raise MavaError(f"{self._name}: no action given for live agent {error.args[0]!r}") from None

        step = self._direct if self._direct is not None else self._env.step
        observations, rewards, terminations, truncations, infos = step(pz_actions)

        done = self._done
        io_map = self._io
        info_masks = infos if self._info_masks else None
        out_obs: Dict[str, AgentObservation] = {}
        out_rewards: Dict[str, float] = {}
        discounts: Dict[str, float] = {}
        for agent in self._agents:
            if done[agent]:  # left the episode on an earlier step
                out_obs[agent] = io_map[agent].dead
                out_rewards[agent] = 0.0
                discounts[agent] = 0.0
                continue
            out_obs[agent] = self._observe(io_map[agent], observations.get(agent), info_masks, agent)
            out_rewards[agent] = rewards.get(agent, 0.0)
            if terminations.get(agent, False):
                done[agent] = True
                discounts[agent] = 0.0
            elif truncations.get(agent, False):
                done[agent] = True
                discounts[agent] = 1.0
            else:
                discounts[agent] = 1.0
        last = not self._env.agents or all(done.values())
        self._reset_next_step = last
        return next_timestep(out_obs, out_rewards, discounts, last)

    @staticmethod
    def _observe(io: AgentIO, obs: Any, infos: Optional[Dict[str, Any]], agent: str) -> AgentObservation:
        """One agent's AgentObservation; ``obs`` is None for an agent PettingZoo no longer reports."""
        return io.observe(obs, infos.get(agent) if infos else None)
