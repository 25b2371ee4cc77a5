"""Turn-based (AEC) PettingZoo environments, the sequential loop, and agents that leave early."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import hooks_outside_a_run, local_run, read_csv

from mava_core.environment import ContractCheckedEnvironment
from mava_core.environment_loop import SequentialEnvironmentLoop
from mava_core.errors import MavaError
from mava_core.executor import Executor
from mava_core.plugins import PluginManager
from mava_core.specs import PARALLEL, SEQUENTIAL
from mava_plugins.envs.pettingzoo_aec_wrapper import PettingZooAECEnvironment
from mava_plugins.envs.pettingzoo_family import PettingZooFamily

pytest.importorskip("pettingzoo")

from pettingzoo.utils.env import AECEnv  # noqa: E402

# player_1 takes the top row (squares 0, 1, 2) while player_2 plays 3 and 4
PLAYER_1_WINS = [0, 3, 1, 4, 2]


def _tictactoe(seed=0):
    return PettingZooFamily.make("tictactoe_v3", seed=seed)


def _board(env):
    """The game's board (0 empty, 1 player_1, 2 player_2) under the Mava wrapper ``env``."""
    return np.array(env.environment.unwrapped.board.squares)


# --------------------------------------------------------------------------- tictactoe
def test_tictactoe_is_sequential_with_flagged_observations():
    env = _tictactoe()
    spec = env.multi_agent_spec()
    assert PettingZooFamily.api("tictactoe_v3") == "aec" and PettingZooFamily.api("simple_spread_v3") == "parallel"
    assert spec.kind == SEQUENTIAL and spec.has_action_masks and spec.state is None
    assert spec.agent_ids == ["player_1", "player_2"]
    for agent in spec.agents.values():
        assert agent.observation.shape == (3 * 3 * 2 + 1,) and agent.num_actions == 9


def test_scripted_game_credits_rewards_masks_flags_and_discounts():
    game = _tictactoe()
    env = ContractCheckedEnvironment(game, name="pettingzoo:tictactoe_v3")
    timestep = env.reset()
    assert timestep.first() and env.current_agents() == ["player_1"]
    returns = {"player_1": 0.0, "player_2": 0.0}
    for turn, square in enumerate(PLAYER_1_WINS):
        mover, waiter = ("player_1", "player_2") if turn % 2 == 0 else ("player_2", "player_1")
        assert env.current_agents() == [mover]
        mover_obs, waiter_obs = timestep.observation[mover], timestep.observation[waiter]
        assert mover_obs.observation[-1] == 1.0 and waiter_obs.observation[-1] == 0.0  # the turn flag
        np.testing.assert_array_equal(mover_obs.action_mask, (_board(game) == 0).astype(np.float32))
        np.testing.assert_array_equal(waiter_obs.action_mask, np.ones(9, np.float32))
        # each agent sees the board from its own side: its own marks first
        own = mover_obs.observation[:-1].reshape(3, 3, 2)[..., 0].reshape(-1)
        np.testing.assert_array_equal(own, _board(game) == (1 if mover == "player_1" else 2))

        timestep = env.step({mover: np.int32(square), waiter: np.int32(8)})  # the waiter's action is ignored
        for agent, reward in timestep.reward.items():
            returns[agent] += float(reward)
        if turn < len(PLAYER_1_WINS) - 1:
            assert timestep.mid()
            assert timestep.reward == {"player_1": 0.0, "player_2": 0.0}
            assert timestep.discount == {"player_1": 1.0, "player_2": 1.0}
    assert _board(game)[8] == 0  # no waiter's move ever reached the board
    assert timestep.last() and env.current_agents() == []
    # the loser's -1 comes on the winner's turn, at the step the game ends
    assert timestep.reward == {"player_1": 1.0, "player_2": -1.0}
    assert timestep.discount == {"player_1": 0.0, "player_2": 0.0}
    assert returns == {"player_1": 1.0, "player_2": -1.0}
    for obs in timestep.observation.values():
        assert obs.observation[-1] == 0.0 and obs.action_mask.all()  # nobody's turn at the end
    final = timestep.observation["player_1"].observation[:-1].reshape(3, 3, 2)[..., 0]
    np.testing.assert_array_equal(final[0], [1, 1, 1])  # the final board, not zeros
    assert env.step({}).first()  # stepping after LAST starts a new game


def test_missing_action_of_the_current_agent_names_it():
    env = _tictactoe()
    env.reset()
    with pytest.raises(MavaError, match="no action given for 'player_1', whose turn it is"):
        env.step({"player_2": 0})


def test_an_illegal_move_ends_the_game_against_the_mover():
    env = _tictactoe()
    env.reset()
    env.step({"player_1": 4})
    timestep = env.step({"player_2": 4})  # taken: PettingZoo ends the game, -1 for player_2
    assert timestep.last()
    assert timestep.reward == {"player_1": 0.0, "player_2": -1.0}
    assert timestep.discount == {"player_1": 0.0, "player_2": 0.0}  # terminated, not truncated


# ----------------------------------------------------------------- a handwritten AECEnv
class _TurnsFake(AECEnv):
    """Three agents take turns a, b, c. b terminates on its first turn (reward -1), a gets
    +0.5 on c's first turn, and everyone is truncated after turn 5. A dead agent's turn must
    be stepped with None (PettingZoo's ``_was_dead_step``); ``log`` records every step."""

    metadata = {"name": "turns_fake"}

    def __init__(self):
        super().__init__()
        from gymnasium import spaces

        self.possible_agents = ["a", "b", "c"]
        self._obs_space = spaces.Box(0.0, 10.0, (2,), np.float32)
        self._act_space = spaces.Discrete(3)
        self._rng = np.random.default_rng()
        self.log = []

    def observation_space(self, agent):
        return self._obs_space

    def action_space(self, agent):
        return self._act_space

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {} for agent in self.agents}
        self.agent_selection = "a"
        self.turn = 0
        self.noise = float(self._rng.random())
        self.log = []

    def observe(self, agent):
        return np.array([self.turn, self.noise], np.float32)

    def step(self, action):
        agent = self.agent_selection
        self.log.append((agent, action))
        if self.terminations[agent] or self.truncations[agent]:
            return self._was_dead_step(action)
        self._clear_rewards()
        self.turn += 1
        self.rewards[agent] = float(action)
        if agent == "b":
            self.terminations["b"] = True
            self.rewards["b"] = -1.0
        if agent == "c" and self.turn == 3:
            self.rewards["a"] += 0.5
        if self.turn == 5:
            self.truncations = dict.fromkeys(self.agents, True)
        self._accumulate_rewards()
        order = self.agents
        self.agent_selection = order[(order.index(agent) + 1) % len(order)]
        self._deads_step_first()


def test_dead_agents_turns_are_skipped_and_rewards_credited():
    fake = _TurnsFake()
    env = ContractCheckedEnvironment(PettingZooAECEnvironment(fake, seed=0, name="turns"), name="turns")
    spec = env.multi_agent_spec()
    assert spec.kind == SEQUENTIAL and not spec.has_action_masks
    timestep = env.reset()
    movers, steps = [], []
    while not timestep.last():
        (mover,) = env.current_agents()
        movers.append(mover)
        timestep = env.step({agent: np.int32(2) for agent in spec.agents})
        steps.append(timestep)
    assert movers == ["a", "b", "c", "a", "c"]  # b never gets a turn after it terminated
    assert [entry for entry in fake.log if entry[1] is None] == [("b", None), ("a", None), ("c", None)]

    # b terminates on its turn: its reward is credited there, discount 0, its final view kept
    assert steps[1].reward == {"a": 0.0, "b": -1.0, "c": 0.0}
    assert steps[1].discount == {"a": 1.0, "b": 0.0, "c": 1.0}
    np.testing.assert_allclose(steps[1].observation["b"].observation[:2], [2.0, fake.noise])
    # afterwards b is gone: zero observation and flag, zero reward, discount 0, all-ones mask
    for later in steps[2:]:
        assert later.reward["b"] == 0.0 and later.discount["b"] == 0.0
        np.testing.assert_array_equal(later.observation["b"].observation, np.zeros(3, np.float32))
        np.testing.assert_array_equal(later.observation["b"].action_mask, np.ones(3, np.float32))
    # a earns 0.5 on c's turn, at that step
    assert steps[2].reward == {"a": 0.5, "b": 0.0, "c": 2.0}
    assert steps[2].observation["a"].observation[-1] == 1.0  # a acts next
    # truncation after turn 5: LAST with discount 1 for the agents still playing
    assert steps[-1].last() and all(step.mid() for step in steps[:-1])
    assert steps[-1].discount == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert steps[-1].reward == {"a": 0.0, "b": 0.0, "c": 2.0}


def test_seed_reproduces_the_first_reset_and_later_resets_continue():
    def first_noises(seed):
        env = PettingZooAECEnvironment(_TurnsFake(), seed=seed)
        return [float(env.reset().observation["a"].observation[1]) for _ in range(2)]

    assert first_noises(3) == first_noises(3)
    assert first_noises(3) != first_noises(4)
    first, second = first_noises(3)
    assert first != second  # the second episode is not reseeded


# ------------------------------------------------------------------ the sequential loop
class _SpyEnvironment(PettingZooAECEnvironment):
    """Records the actions the loop hands to the environment."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received = []

    def step(self, actions):
        self.received.append(dict(actions))
        return super().step(actions)


class _ScriptedPolicy:
    """Acts for every agent: the next scripted square for whoever moves, 8 for the other."""

    def __init__(self, env, moves):
        self._env, self._moves = env, list(moves)

    def reset(self):
        self._next = iter(self._moves)

    def select_actions(self, observations):
        mover = self._env.current_agents()[0]
        move = next(self._next)
        return {agent: np.int32(move if agent == mover else 8) for agent in observations}


class _RecordingAdder:
    def __init__(self):
        self.added = []

    def add_first(self, timestep, extras):
        self.added.append(("first", None))

    def add(self, actions, timestep, extras):
        self.added.append(("step", dict(actions)))


def test_sequential_loop_passes_only_the_current_agents_action():
    hooks = hooks_outside_a_run(PluginManager(load_entry_points=False))
    env = _SpyEnvironment(PettingZooFamily.make("tictactoe_v3").environment, seed=0, name="spy")
    adder = _RecordingAdder()
    executor = Executor(_ScriptedPolicy(env, PLAYER_1_WINS), hooks, adder=adder)
    loop = SequentialEnvironmentLoop(env, executor, hooks, should_update=False)
    result = loop.run_episode()

    movers = ["player_1", "player_2", "player_1", "player_2", "player_1"]
    assert env.received == [{mover: square} for mover, square in zip(movers, PLAYER_1_WINS)]
    # the executor (and so the dataset) still sees every agent's action at every step
    steps = [actions for kind, actions in adder.added if kind == "step"]
    assert len(steps) == 5 and all(set(actions) == {"player_1", "player_2"} for actions in steps)
    assert result["episode_length"] == 5
    assert (result["turns_player_1"], result["turns_player_2"]) == (3, 2)
    assert (result["return_player_1"], result["return_player_2"]) == (1.0, -1.0)
    assert result["episode_return"] == 0.0 and result["team_return"] == 0.0


# ---------------------------------------------------- a parallel family where agents die
def test_knights_archers_zombies_agent_that_dies_early():
    """With ``line_death`` an agent that touches the top or bottom wall dies; the others go on."""
    env = PettingZooFamily.make("knights_archers_zombies_v11", seed=2, line_death=True)
    spec = env.multi_agent_spec()
    assert spec.kind == PARALLEL and spec.agent_ids == ["archer_0", "archer_1", "knight_0", "knight_1"]
    assert spec.agents["archer_0"].observation.shape == (27 * 5,)  # the vector observation, flattened
    received = []
    inner_step = env.environment.step

    def spy(actions):
        received.append(set(actions))
        return inner_step(actions)

    env.environment.step = spy
    rng = np.random.default_rng(2)
    timestep = env.reset()
    dead, died_at = None, None
    while not timestep.last():
        timestep = env.step({agent: np.int32(rng.integers(6)) for agent in spec.agents})
        if dead is None:
            ended = [agent for agent, discount in timestep.discount.items() if discount == 0.0]
            if ended and not timestep.last():
                (dead,), died_at = ended, len(received)
                assert timestep.observation[dead].observation.any()  # its last view
        elif not timestep.last():
            assert timestep.discount[dead] == 0.0 and timestep.reward[dead] == 0.0
            np.testing.assert_array_equal(timestep.observation[dead].observation, np.zeros(135, np.float32))
            assert any(timestep.discount[agent] == 1.0 for agent in spec.agents if agent != dead)
    assert dead is not None and len(received) > died_at + 5, "no agent died well before the end"
    assert all(dead not in actions for actions in received[died_at:])  # its actions were dropped
    assert all(dead in actions for actions in received[:died_at])


# ----------------------------------------------------------------------------- training
def test_madqn_trains_on_tictactoe_and_respects_the_masks(tmp_path):
    summary, builder = local_run(
        tmp_path, "madqn", "pettingzoo:tictactoe_v3", env_steps=500, eval_episodes=2, random_baseline_episodes=20,
        overrides={"dataset.min_size": 100, "dataset.batch_size": 32},
    )
    assert builder.env_spec.kind == SEQUENTIAL
    assert summary["env_steps"] >= 500 and summary["trainer_steps"] > 0
    rows = read_csv(tmp_path / "logs" / "executor_0.csv")
    assert len(rows) >= 40
    for row in rows:
        # no game ended on an illegal move: one needs at least 5 moves to win, and a win is zero-sum
        assert float(row["episode_length"]) >= 5
        assert float(row["return_player_1"]) + float(row["return_player_2"]) == 0.0
        assert float(row["turns_player_1"]) - float(row["turns_player_2"]) in (0.0, 1.0)
    assert summary["random_return"] == 0.0  # random legal moves: zero-sum, never an illegal-move loss
    evaluation = summary["evaluations"][-1]
    assert evaluation["mean_return_player_1"] + evaluation["mean_return_player_2"] == 0.0
