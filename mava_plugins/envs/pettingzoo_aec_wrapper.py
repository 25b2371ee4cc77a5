"""A turn-based :class:`~mava_core.environment.MultiAgentEnvironment` around a PettingZoo ``AECEnv``.

One Mava step is one turn: the agent named by ``current_agents()`` (PettingZoo's
``agent_selection``) acts, and the actions of every other agent are ignored. Systems still
act for every agent in one batched call and datasets still store joint steps, because every
timestep carries every agent of ``possible_agents``:

* observation: ``env.observe(agent)`` flattened to float32, plus a trailing "it is my turn"
  flag (1.0 for the agent that acts next, else 0.0), so a state where an agent's action
  has no effect is told apart from one where it matters;
* action mask: the acting agent's legal moves (from its ``action_mask`` observation entry
  or info); all ones for every other agent, whose action is ignored;
* reward: the per-step ``env.rewards`` of every agent for this turn, so a reward earned on
  another agent's turn (losing a board game) is credited at the step it happens and the
  episode's returns add up;
* discount: 1 while an agent plays; 0 at the step it terminates, 1 at the step it is
  truncated; after it has left, a zero observation (flag 0), zero reward and discount 0.

PettingZoo requires ``step(None)`` for a terminated or truncated agent's turn; the wrapper
does that itself, right after the acting agent's step, until a live agent is selected or
the game is over, so the environment loop never sees a dead agent's turn. Rewards those
steps report are added to the same timestep. The episode is LAST once every agent is done.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import dm_env
import numpy as np

from mava_core.environment import first_timestep, next_timestep
from mava_core.errors import MavaError
from mava_core.specs import SEQUENTIAL, AgentObservation, MultiAgentSpec
from mava_plugins.envs.pettingzoo_common import F32, PettingZooEnvironmentBase, infos_carry_masks, probe_state

#: index of the turn flag, counted from the end of each observation
TURN_FLAG = -1


class PettingZooAECEnvironment(PettingZooEnvironmentBase):
    """Wraps a PettingZoo ``AECEnv`` as a sequential (turn-based) Mava environment.

    Args:
        env: the PettingZoo AEC environment.
        seed: seed of the first ``reset()``; later resets continue from the env's RNG.
        name: used in error messages and ``repr``.
        has_action_masks: whether masks come from the observations or infos. ``None``
            (default) detects it from the observation space and the infos of a probe reset.
    """

    def __init__(self, env: Any, seed: Optional[int] = 0, name: str = "pettingzoo", has_action_masks: Optional[bool] = None):
        super().__init__(env, seed, name, extra=1)
        # A probe reset (with the run's seed, which the first real reset repeats) tells
        # whether infos carry action masks and whether ``state()`` works.
        env.reset(seed=seed)
        self._info_masks = infos_carry_masks(env.infos)
        if has_action_masks is None:
            has_action_masks = self._info_masks or any(io.dict_obs for io in self._io.values())
        self._spec = MultiAgentSpec(
            agents={agent: io.spec for agent, io in self._io.items()},
            state=probe_state(env),
            has_action_masks=bool(has_action_masks),
            kind=SEQUENTIAL,
        )
        self._selection: Optional[str] = None  # the agent whose turn it is; None when the game is over

    # ------------------------------------------------------------------------- dm_env API
    def current_agents(self) -> List[str]:
        """The one agent that acts on the next ``step`` (none once the episode has ended)."""
        return [] if self._selection is None else [self._selection]

    def reset(self) -> dm_env.TimeStep:
        env = self._env
        env.reset(seed=self._reset_seed())
        self._reset_next_step = False
        self._done = dict.fromkeys(self._agents, False)
        self._skip_dead_turns({})
        self._done.update({agent: True for agent in self._agents if agent not in env.agents})
        self._selection = self._live_selection()
        return first_timestep(self._spec, {agent: self._observe_now(agent) for agent in self._agents})

    def step(self, actions: Mapping[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        agent = self._selection
        try:
            action = actions[agent]
        except KeyError:
            raise MavaError(f"{self._name}: no action given for {agent!r}, whose turn it is") from None
        convert = self._io[agent].action_fn
        self._env.step(action if convert is None else convert(action))

        rewards = dict.fromkeys(self._agents, 0.0)
        leaving: Dict[str, tuple] = {}  # agent -> (final observation, discount), for agents done at this step
        self._collect(rewards, leaving)
        self._skip_dead_turns(rewards, leaving)
        self._selection = self._live_selection()

        observations: Dict[str, AgentObservation] = {}
        discounts: Dict[str, float] = {}
        done = self._done
        for agent in self._agents:
            if agent in leaving:
                observations[agent], discounts[agent] = leaving[agent]
                done[agent] = True
            elif done[agent]:  # left on an earlier step
                observations[agent], discounts[agent] = self._io[agent].dead, 0.0
            else:
                observations[agent], discounts[agent] = self._observe_now(agent), 1.0
        last = self._selection is None or all(done.values())
        self._reset_next_step = last
        return next_timestep(observations, rewards, discounts, last)

    # ------------------------------------------------------------------ internals
    def _is_dead(self, agent: str) -> bool:
        env = self._env
        return bool(env.terminations.get(agent, False) or env.truncations.get(agent, False))

    def _live_selection(self) -> Optional[str]:
        env = self._env
        if not env.agents or self._is_dead(env.agent_selection):
            return None
        return env.agent_selection

    def _skip_dead_turns(self, rewards: Dict[str, float], leaving: Optional[Dict[str, tuple]] = None) -> None:
        """Step None for dead agents' turns until a live agent is selected or none is left."""
        env = self._env
        while env.agents and self._is_dead(env.agent_selection):
            env.step(None)
            if leaving is not None:
                self._collect(rewards, leaving)

    def _collect(self, rewards: Dict[str, float], leaving: Dict[str, tuple]) -> None:
        """After one PettingZoo step: add its rewards, note the agents it ended (with their final view)."""
        env = self._env
        done = self._done
        for agent, reward in env.rewards.items():
            if agent in rewards and not done[agent]:
                rewards[agent] += float(reward)
        for agent in self._agents:
            if done[agent] or agent in leaving:
                continue
            if agent not in env.agents:  # removed without a flag we saw: treat as terminated
                leaving[agent] = (self._io[agent].dead, 0.0)
            elif env.terminations.get(agent, False):
                leaving[agent] = (self._observe_now(agent, acting=False), 0.0)
            elif env.truncations.get(agent, False):
                leaving[agent] = (self._observe_now(agent, acting=False), 1.0)

    def _observe_now(self, agent: str, acting: Optional[bool] = None) -> AgentObservation:
        """``agent``'s current view with its turn flag; its true mask only when it acts next."""
        io = self._io[agent]
        env = self._env
        if self._done.get(agent) or agent not in env.agents:
            return io.dead
        if acting is None:
            acting = agent == self._selection
        raw = env.observe(agent)
        if raw is None:
            return io.dead
        flat, mask = io.split(raw, env.infos.get(agent) if self._info_masks else None)
        observation = np.empty((io.size + 1,), F32)
        observation[: io.size] = flat
        observation[TURN_FLAG] = 1.0 if acting else 0.0
        return AgentObservation(observation, mask if acting else io.ones)
