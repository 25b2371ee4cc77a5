"""A small, deterministic stand-in for SMAC's ``smac.env.StarCraft2Env`` (no StarCraft II needed).

Two API generations, both written from SMAC's API (``smac/env/starcraft2/starcraft2.py``):

* :class:`StarCraft2Env` follows today's oxwhirl/smac master (read from its source): the
  constructor defaults ``step_mul=8`` and has ``obs_timestep_number``,
  ``state_timestep_number``, ``heuristic_ai`` and ``heuristic_rest``; ``step`` puts
  ``dead_allies`` and ``dead_enemies`` in ``info``; with ``obs_timestep_number`` each
  observation is one longer than ``get_env_info()["obs_shape"]`` (master reserves a zero
  slot for the timestep in the own features and then appends the timestep after them);
* :class:`LegacyStarCraft2Env` is the older API this fake first modelled: no such options
  (``step_mul=None``), no dead counts in ``info``.

Common to both: the constructor's keyword arguments and defaults, ``get_env_info()``, ``reset() -> (obs,
state)``, ``get_obs()``/``get_obs_agent(i)``, ``get_state()``, ``get_avail_actions()``/
``get_avail_agent_actions(i)``, ``step(actions) -> (reward, terminated, info)``,
``get_stats()``, ``close()``. Faithful where the wrapper depends on it:

* actions: 0 no-op (only for dead units, and then the only one), 1 stop, 2-5 move
  north/south/east/west, ``6 + j`` attack enemy ``j`` (only when alive and in shoot range);
  ``step`` asserts that every action is available, as SMAC does;
* observation and state sizes follow SMAC's feature layout (move, enemy, ally and own
  features; shield and unit-type bits by race and map), dead units observe all zeros;
* the episode ends when one side is dead (``info["battle_won"]`` True when every enemy
  died) or at the map's episode limit, where ``info["episode_limit"]`` is set only with
  ``continuing_episode=True``; the reward is SMAC's shaped damage/kill/win reward, scaled
  by ``reward_scale_rate / max_reward``, where ``max_reward`` counts every enemy's health and
  shield (added at the first reset, as SMAC does) besides the kill and win rewards, so a
  won battle that killed every enemy from full health returns ``reward_scale_rate`` in all;
* a lost connection to the game (:meth:`StarCraft2Env.fail_next_step`, for tests) makes
  ``step`` restart the game and return ``0, True, {}``, as SMAC does after a protocol error;
* as in SMAC, every ``reset`` before the first episode has ended launches a game (SMAC
  leaves the previous one running) and adds the enemies' health to ``max_reward`` again;
* ``get_env_info()`` works before the first ``reset()``; ``get_obs()`` before it fails.

Simplified: a 32x32 open map with no terrain, every unit has the same range (shoot 6,
sight 9), health (45 + 0 shield), damage and no cooldown; the built-in AI attacks the
nearest visible ally or walks towards it and hits with a probability drawn from the seeded
generator, so trajectories are deterministic under ``seed``.
"""
from __future__ import annotations

import math

import numpy as np

#: map name -> SMAC's map parameters (only what the fake uses)
MAP_PARAMS = {
    "3m": dict(n_agents=3, n_enemies=3, limit=60, a_race="T", b_race="T", unit_type_bits=0, map_type="marines"),
    "8m": dict(n_agents=8, n_enemies=8, limit=120, a_race="T", b_race="T", unit_type_bits=0, map_type="marines"),
    "5m_vs_6m": dict(n_agents=5, n_enemies=6, limit=70, a_race="T", b_race="T", unit_type_bits=0, map_type="marines"),
    "2s3z": dict(n_agents=5, n_enemies=5, limit=120, a_race="P", b_race="P", unit_type_bits=2, map_type="stalkers_and_zealots"),
    "2m_vs_1z": dict(n_agents=2, n_enemies=1, limit=150, a_race="T", b_race="P", unit_type_bits=0, map_type="marines"),
}


def get_map_params(map_name):
    return MAP_PARAMS[map_name]  # KeyError for an unknown map, like SMAC's registry


class StarCraft2Env:
    """The fake environment; see the module docstring for what it simulates."""

    HEALTH = 45.0
    SHOOT_RANGE = 6.0
    SIGHT_RANGE = 9.0
    ALLY_DAMAGE = 9.0
    ENEMY_DAMAGE = 6.0
    MAP_SIZE = 32.0

    def __init__(
        self,
        map_name="8m",
        step_mul=8,
        move_amount=2,
        difficulty="7",
        game_version=None,
        seed=None,
        continuing_episode=False,
        obs_all_health=True,
        obs_own_health=True,
        obs_last_action=False,
        obs_pathing_grid=False,
        obs_terrain_height=False,
        obs_instead_of_state=False,
        obs_timestep_number=False,
        state_last_action=True,
        state_timestep_number=False,
        reward_sparse=False,
        reward_only_positive=True,
        reward_death_value=10,
        reward_win=200,
        reward_defeat=0,
        reward_negative_scale=0.5,
        reward_scale=True,
        reward_scale_rate=20,
        replay_dir="",
        replay_prefix="",
        window_size_x=1920,
        window_size_y=1200,
        heuristic_ai=False,
        heuristic_rest=False,
        debug=False,
    ):
        params = get_map_params(map_name)
        self.map_name = map_name
        self.n_agents = params["n_agents"]
        self.n_enemies = params["n_enemies"]
        self.episode_limit = params["limit"]
        self.unit_type_bits = params["unit_type_bits"]
        self.shield_bits_ally = 1 if params["a_race"] == "P" else 0
        self.shield_bits_enemy = 1 if params["b_race"] == "P" else 0
        self._move_amount = move_amount
        self._step_mul = step_mul
        self.obs_timestep_number = obs_timestep_number
        self.state_timestep_number = state_timestep_number
        self.heuristic_ai = heuristic_ai
        self.heuristic_rest = heuristic_rest
        self.difficulty = difficulty
        self._seed = seed
        self.continuing_episode = continuing_episode
        self.obs_all_health = obs_all_health
        self.obs_own_health = obs_own_health or obs_all_health
        self.obs_last_action = obs_last_action
        self.obs_instead_of_state = obs_instead_of_state
        self.state_last_action = state_last_action
        self.reward_sparse = reward_sparse
        self.reward_only_positive = reward_only_positive
        self.reward_death_value = reward_death_value
        self.reward_win = reward_win
        self.reward_defeat = reward_defeat
        self.reward_negative_scale = reward_negative_scale
        self.reward_scale = reward_scale
        self.reward_scale_rate = reward_scale_rate
        self.n_actions_no_attack = 6
        self.n_actions_move = 4
        self.n_actions = self.n_actions_no_attack + self.n_enemies
        self.max_reward = self.n_enemies * self.reward_death_value + self.reward_win
        self._rng = None
        self.launches = 0  # games started, for tests
        self._episode_count = 0
        self._episode_steps = 0
        self._total_steps = 0
        self.battles_won = 0
        self.battles_game = 0
        self.timeouts = 0
        self.force_restarts = 0
        self.closed = False
        self.ally_pos = self.enemy_pos = None
        self.ally_health = self.enemy_health = None
        self.death_tracker_ally = np.zeros(self.n_agents)
        self.death_tracker_enemy = np.zeros(self.n_enemies)
        self.last_action = np.zeros((self.n_agents, self.n_actions))
        self.actions_received = []  # every joint action, for tests
        self._fail_next_step = False

    # ------------------------------------------------------------------ sizes and info
    def get_obs_size(self):
        nf_al = 4 + self.unit_type_bits
        nf_en = 4 + self.unit_type_bits
        if self.obs_all_health:
            nf_al += 1 + self.shield_bits_ally
            nf_en += 1 + self.shield_bits_enemy
        if self.obs_last_action:
            nf_al += self.n_actions
        nf_own = self.unit_type_bits + (1 + self.shield_bits_ally if self.obs_own_health else 0)
        nf_own += 1 if self.obs_timestep_number else 0
        return self.n_actions_move + self.n_enemies * nf_en + (self.n_agents - 1) * nf_al + nf_own

    def get_state_size(self):
        if self.obs_instead_of_state:
            return self.get_obs_size() * self.n_agents
        nf_al = 4 + self.shield_bits_ally + self.unit_type_bits
        nf_en = 3 + self.shield_bits_enemy + self.unit_type_bits
        size = self.n_agents * nf_al + self.n_enemies * nf_en
        if self.state_last_action:
            size += self.n_agents * self.n_actions
        if self.state_timestep_number:
            size += 1
        return size

    def get_total_actions(self):
        return self.n_actions

    def get_env_info(self):
        return {
            "state_shape": self.get_state_size(),
            "obs_shape": self.get_obs_size(),
            "n_actions": self.get_total_actions(),
            "n_agents": self.n_agents,
            "episode_limit": self.episode_limit,
            # master adds the names of the state's features
            "agent_features": ["health", "energy/cooldown", "rel_x", "rel_y"],
            "enemy_features": ["health", "rel_x", "rel_y"],
        }

    def seed(self):
        return self._seed

    # ------------------------------------------------------------------ episodes
    def _launch(self):
        self._rng = np.random.default_rng(self._seed)
        self.launches += 1

    def full_restart(self):
        """SMAC's answer to a protocol error: a new game (its units come with the next reset)."""
        self._launch()
        self.force_restarts += 1

    def fail_next_step(self):
        """Test hook: the next ``step`` loses the game, as a crashed StarCraft II would."""
        self._fail_next_step = True

    def reset(self):
        self._episode_steps = 0
        if self._episode_count == 0:  # as SMAC: every reset before the first episode's end launches a game
            self._launch()
        rng = self._rng
        self.ally_pos = np.stack([np.full(self.n_agents, 12.0), 12.0 + 1.5 * np.arange(self.n_agents)], axis=1)
        self.ally_pos += rng.uniform(-0.5, 0.5, self.ally_pos.shape)
        self.enemy_pos = np.stack([np.full(self.n_enemies, 19.0), 12.0 + 1.5 * np.arange(self.n_enemies)], axis=1)
        self.enemy_pos += rng.uniform(-0.5, 0.5, self.enemy_pos.shape)
        self.ally_health = np.full(self.n_agents, self.HEALTH)
        self.enemy_health = np.full(self.n_enemies, self.HEALTH)
        if self._episode_count == 0:  # as SMAC's init_units, on every reset until an episode has ended
            self.max_reward += self.n_enemies * self.HEALTH  # health_max + shield_max (no shields here)
        self.death_tracker_ally = np.zeros(self.n_agents)
        self.death_tracker_enemy = np.zeros(self.n_enemies)
        self.last_action = np.zeros((self.n_agents, self.n_actions))
        self.win_counted = False
        self.defeat_counted = False
        return self.get_obs(), self.get_state()

    def _require_started(self):
        if self.ally_pos is None:
            raise AttributeError("'StarCraft2Env' has no units yet: call reset() first")

    def get_avail_agent_actions(self, agent_id):
        self._require_started()
        avail = [0] * self.n_actions
        if self.ally_health[agent_id] <= 0:
            avail[0] = 1  # dead: only the no-op
            return avail
        avail[1] = 1
        x, y = self.ally_pos[agent_id]
        m = self._move_amount / 2
        for index, (dx, dy) in enumerate(((0, m), (0, -m), (m, 0), (-m, 0))):
            if 0 <= x + dx < self.MAP_SIZE and 0 <= y + dy < self.MAP_SIZE:
                avail[2 + index] = 1
        for e_id in range(self.n_enemies):
            if self.enemy_health[e_id] > 0 and self._dist(self.ally_pos[agent_id], self.enemy_pos[e_id]) <= self.SHOOT_RANGE:
                avail[self.n_actions_no_attack + e_id] = 1
        return avail

    def get_avail_actions(self):
        return [self.get_avail_agent_actions(i) for i in range(self.n_agents)]

    @staticmethod
    def _dist(a, b):
        return math.hypot(b[0] - a[0], b[1] - a[1])

    def _heuristic_action(self, a_id):
        """SMAC's heuristic AI, simplified: attack the nearest living enemy, walking to it when out of range."""
        if self.ally_health[a_id] <= 0:
            return 0
        alive = np.flatnonzero(self.enemy_health > 0)
        if alive.size == 0:
            return 1
        target = alive[int(np.argmin([self._dist(self.ally_pos[a_id], self.enemy_pos[e]) for e in alive]))]
        if self.get_avail_agent_actions(a_id)[self.n_actions_no_attack + target]:
            return self.n_actions_no_attack + int(target)
        dx, dy = self.enemy_pos[target] - self.ally_pos[a_id]
        if abs(dx) > abs(dy):
            return 4 if dx > 0 else 5
        return 2 if dy > 0 else 3

    def step(self, actions):
        actions = [int(a) for a in actions]
        self.actions_received.append(list(actions))
        if self.heuristic_ai:  # the agents' actions are ignored
            actions = [self._heuristic_action(a_id) for a_id in range(self.n_agents)]
        self.last_action = np.eye(self.n_actions)[np.array(actions)]
        for a_id, action in enumerate(actions):
            avail = self.get_avail_agent_actions(a_id)
            assert avail[action] == 1, "Agent {} cannot perform action {}".format(a_id, action)
        if self._fail_next_step:  # SMAC: except (ProtocolError, ConnectionError): full_restart(); return 0, True, {}
            self._fail_next_step = False
            self.full_restart()
            return 0, True, {}
        prev_ally = self.ally_health.copy()
        prev_enemy = self.enemy_health.copy()
        moves = {2: (0, 1), 3: (0, -1), 4: (1, 0), 5: (-1, 0)}
        damage_to_enemy = np.zeros(self.n_enemies)
        for a_id, action in enumerate(actions):
            if action in moves:
                dx, dy = moves[action]
                self.ally_pos[a_id] += (dx * self._move_amount, dy * self._move_amount)
                np.clip(self.ally_pos[a_id], 0.0, self.MAP_SIZE - 1e-3, out=self.ally_pos[a_id])
            elif action >= self.n_actions_no_attack:
                damage_to_enemy[action - self.n_actions_no_attack] += self.ALLY_DAMAGE
        # the built-in AI: attack the nearest living ally in range, else walk towards it
        hit_probability = 0.4 + 0.05 * (int(self.difficulty, 16) if isinstance(self.difficulty, str) else 7)
        damage_to_ally = np.zeros(self.n_agents)
        alive_allies = np.flatnonzero(self.ally_health > 0)
        for e_id in np.flatnonzero(self.enemy_health > 0):
            if alive_allies.size == 0:
                break
            dists = [self._dist(self.enemy_pos[e_id], self.ally_pos[a]) for a in alive_allies]
            target = alive_allies[int(np.argmin(dists))]
            if min(dists) <= self.SHOOT_RANGE:
                if self._rng.random() < hit_probability:
                    damage_to_ally[target] += self.ENEMY_DAMAGE
            else:
                direction = self.ally_pos[target] - self.enemy_pos[e_id]
                self.enemy_pos[e_id] += self._move_amount * direction / max(np.linalg.norm(direction), 1e-6)
        self.enemy_health = np.maximum(self.enemy_health - damage_to_enemy, 0.0)
        self.ally_health = np.maximum(self.ally_health - damage_to_ally, 0.0)
        self._total_steps += 1
        self._episode_steps += 1

        reward = self._reward_battle(prev_ally, prev_enemy)
        terminated = False
        info = {"battle_won": False}
        allies_alive = int((self.ally_health > 0).sum())
        enemies_alive = int((self.enemy_health > 0).sum())
        self._add_dead_counts(info, self.n_agents - allies_alive, self.n_enemies - enemies_alive)
        game_end_code = None
        if allies_alive == 0 and enemies_alive > 0:
            game_end_code = -1
        elif allies_alive > 0 and enemies_alive == 0:
            game_end_code = 1
        elif allies_alive == 0 and enemies_alive == 0:
            game_end_code = 0
        if game_end_code is not None:
            terminated = True
            self.battles_game += 1
            if game_end_code == 1 and not self.win_counted:
                self.battles_won += 1
                self.win_counted = True
                info["battle_won"] = True
                reward = reward + self.reward_win if not self.reward_sparse else 1
            elif game_end_code == -1 and not self.defeat_counted:
                self.defeat_counted = True
                reward = reward + self.reward_defeat if not self.reward_sparse else -1
        elif self._episode_steps >= self.episode_limit:
            terminated = True
            if self.continuing_episode:
                info["episode_limit"] = True
            self.battles_game += 1
            self.timeouts += 1
        if terminated:
            self._episode_count += 1
        if self.reward_scale:
            reward /= self.max_reward / self.reward_scale_rate
        return reward, terminated, info

    def _add_dead_counts(self, info, dead_allies, dead_enemies):
        info["dead_allies"] = dead_allies
        info["dead_enemies"] = dead_enemies

    def _reward_battle(self, prev_ally, prev_enemy):
        if self.reward_sparse:
            return 0
        delta_deaths = delta_ally = delta_enemy = 0.0
        neg = self.reward_negative_scale
        for al_id in range(self.n_agents):
            if not self.death_tracker_ally[al_id]:
                if self.ally_health[al_id] == 0:
                    self.death_tracker_ally[al_id] = 1
                    if not self.reward_only_positive:
                        delta_deaths -= self.reward_death_value * neg
                    delta_ally += prev_ally[al_id] * neg
                else:
                    delta_ally += neg * (prev_ally[al_id] - self.ally_health[al_id])
        for e_id in range(self.n_enemies):
            if not self.death_tracker_enemy[e_id]:
                if self.enemy_health[e_id] == 0:
                    self.death_tracker_enemy[e_id] = 1
                    delta_deaths += self.reward_death_value
                    delta_enemy += prev_enemy[e_id]
                else:
                    delta_enemy += prev_enemy[e_id] - self.enemy_health[e_id]
        if self.reward_only_positive:
            return abs(delta_enemy + delta_deaths)
        return delta_enemy + delta_deaths - delta_ally

    # ------------------------------------------------------------------ observations
    def get_obs_agent(self, agent_id):
        self._require_started()
        obs = self._obs_features(agent_id)
        if self.obs_timestep_number:  # master: the zero slot in own features, then the timestep appended
            obs = np.append(obs, self._episode_steps / self.episode_limit)
        return obs

    def _obs_features(self, agent_id):
        n_feats = self.get_obs_size()
        if self.ally_health[agent_id] <= 0:
            return np.zeros(n_feats, dtype=np.float32)
        avail = self.get_avail_agent_actions(agent_id)
        pos = self.ally_pos[agent_id]
        nf_en = 4 + self.unit_type_bits + (1 + self.shield_bits_enemy if self.obs_all_health else 0)
        nf_al = 4 + self.unit_type_bits + (1 + self.shield_bits_ally if self.obs_all_health else 0)
        nf_al += self.n_actions if self.obs_last_action else 0
        move_feats = np.array(avail[2:6], dtype=np.float32)
        enemy_feats = np.zeros((self.n_enemies, nf_en), np.float32)
        for e_id in range(self.n_enemies):
            dist = self._dist(pos, self.enemy_pos[e_id])
            if dist < self.SIGHT_RANGE and self.enemy_health[e_id] > 0:
                rel = (self.enemy_pos[e_id] - pos) / self.SIGHT_RANGE
                enemy_feats[e_id, :4] = [avail[self.n_actions_no_attack + e_id], dist / self.SIGHT_RANGE, *rel]
                if self.obs_all_health:
                    enemy_feats[e_id, 4] = self.enemy_health[e_id] / self.HEALTH
        ally_feats = np.zeros((self.n_agents - 1, nf_al), np.float32)
        for i, al_id in enumerate(a for a in range(self.n_agents) if a != agent_id):
            dist = self._dist(pos, self.ally_pos[al_id])
            if dist < self.SIGHT_RANGE and self.ally_health[al_id] > 0:
                rel = (self.ally_pos[al_id] - pos) / self.SIGHT_RANGE
                ally_feats[i, :4] = [1.0, dist / self.SIGHT_RANGE, *rel]
                if self.obs_all_health:
                    ally_feats[i, 4] = self.ally_health[al_id] / self.HEALTH
                if self.obs_last_action:
                    ally_feats[i, -self.n_actions:] = self.last_action[al_id]
        nf_own = self.unit_type_bits + (1 + self.shield_bits_ally if self.obs_own_health else 0)
        own_feats = np.zeros(nf_own, np.float32)
        if self.obs_own_health:
            own_feats[0] = self.ally_health[agent_id] / self.HEALTH
        if self.unit_type_bits:
            own_feats[nf_own - self.unit_type_bits + (agent_id % self.unit_type_bits)] = 1.0
        if self.obs_timestep_number:
            own_feats = np.append(own_feats, np.float32(0.0))  # reserved for the timestep, never written
        return np.concatenate([move_feats, enemy_feats.ravel(), ally_feats.ravel(), own_feats])

    def get_obs(self):
        return [self.get_obs_agent(i) for i in range(self.n_agents)]

    def get_state(self):
        self._require_started()
        if self.obs_instead_of_state:
            return np.concatenate(self.get_obs(), axis=0).astype(np.float32)
        centre = self.MAP_SIZE / 2
        nf_al = 4 + self.shield_bits_ally + self.unit_type_bits
        nf_en = 3 + self.shield_bits_enemy + self.unit_type_bits
        ally_state = np.zeros((self.n_agents, nf_al), np.float32)
        for al_id in range(self.n_agents):
            if self.ally_health[al_id] > 0:
                x, y = self.ally_pos[al_id]
                ally_state[al_id, :4] = [self.ally_health[al_id] / self.HEALTH, 0.0, (x - centre) / centre, (y - centre) / centre]
        enemy_state = np.zeros((self.n_enemies, nf_en), np.float32)
        for e_id in range(self.n_enemies):
            if self.enemy_health[e_id] > 0:
                x, y = self.enemy_pos[e_id]
                enemy_state[e_id, :3] = [self.enemy_health[e_id] / self.HEALTH, (x - centre) / centre, (y - centre) / centre]
        parts = [ally_state.ravel(), enemy_state.ravel()]
        if self.state_last_action:
            parts.append(self.last_action.ravel())
        if self.state_timestep_number:
            parts.append([self._episode_steps / self.episode_limit])
        return np.concatenate(parts).astype(np.float32)

    # ------------------------------------------------------------------ misc
    def get_stats(self):
        return {
            "battles_won": self.battles_won,
            "battles_game": self.battles_game,
            "battles_draw": self.timeouts,
            "win_rate": self.battles_won / max(self.battles_game, 1),
            "timeouts": self.timeouts,
            "restarts": self.force_restarts,
        }

    def render(self, mode="human"):
        raise NotImplementedError

    def save_replay(self):
        pass

    def close(self):
        self.closed = True


class LegacyStarCraft2Env(StarCraft2Env):
    """The older SMAC API: no timestep or heuristic-AI options, ``step_mul=None``, no dead counts in ``info``."""

    def __init__(
        self,
        map_name="8m",
        step_mul=None,
        move_amount=2,
        difficulty="7",
        game_version=None,
        seed=None,
        continuing_episode=False,
        obs_all_health=True,
        obs_own_health=True,
        obs_last_action=False,
        obs_pathing_grid=False,
        obs_terrain_height=False,
        obs_instead_of_state=False,
        state_last_action=True,
        reward_sparse=False,
        reward_only_positive=True,
        reward_death_value=10,
        reward_win=200,
        reward_defeat=0,
        reward_negative_scale=0.5,
        reward_scale=True,
        reward_scale_rate=20,
        replay_dir="",
        replay_prefix="",
        window_size_x=1920,
        window_size_y=1200,
        debug=False,
    ):
        options = {key: value for key, value in locals().items() if key not in ("self", "__class__")}
        super().__init__(**options)

    def get_env_info(self):
        info = super().get_env_info()
        del info["agent_features"], info["enemy_features"]
        return info

    def _add_dead_counts(self, info, dead_allies, dead_enemies):
        pass  # the older API reports only battle_won (and episode_limit)
