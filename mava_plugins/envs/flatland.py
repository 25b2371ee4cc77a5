"""The ``flatland`` environment family: trains on small generated rail networks (flatland-rl 4.x).

``flatland:<task>`` builds a Flatland ``RailEnv`` on a sparse rail network (cities joined by
rails, from ``sparse_rail_generator``) with ``num_agents`` trains, each of which has to
travel from its start station to its target station. Every task is a preset of the options in
:data:`DEFAULT_OPTIONS`; any of them can be changed with ``env.KEY=VALUE``.

* Observations: Flatland's ``TreeObsForRailEnv`` (with a shortest-path predictor, which fills
  in the potential-conflict distances), flattened and normalised to a fixed-size float32
  vector per train, behind a status block (train state one-hot, elapsed fraction). The layout
  is described in :mod:`mava_plugins.envs.flatland_observations`.
* Actions: Flatland's five ``RailEnvActions`` (0 do nothing, 1 left, 2 forward, 3 right,
  4 stop), with a legal-action mask per train (:func:`.flatland_observations.legal_moves`) at
  its cell and direction; a train that has not departed yet is masked at its start cell, and
  one that is waiting for its departure time or has arrived may only do nothing or stop.
* Rewards (``rewards=flatland``, the default) are Flatland's default rewards: 0 on the way, a
  penalty for arriving late, and at the end of the episode a penalty for every train that did
  not arrive (its delay, or for a train that never departed, its travel time). They are sparse
  and late: MADQN at the defaults does not learn from them within a small budget.
  ``rewards=shaped`` pays each train, every step, the cells of shortest-path distance to its
  target it closed (Flatland's distance map; negative when it moves away; a train not on the
  map yet counts one more cell, for the step that puts it there), plus :data:`ARRIVAL_BONUS`
  on the step it arrives. The progress terms telescope: an arriving train's return is its
  start distance plus the bonus. This is the setting Flatland learns from here.
* A train that arrives gets discount 0 on that step; from the next step on it is reported
  with a zero observation, zero reward and discount 0, and its actions are ignored. The
  episode ends (LAST) when every train has arrived or at the time limit, Flatland's own
  (from its timetable) or ``max_episode_steps``; trains still travelling then keep
  discount 1 (truncation).
* Global state: every train's observation, concatenated in agent order.
* Metric ``done_rate``: the fraction of trains that have arrived, read at the episode's end.

Rail networks and timetables are drawn from the environment's random stream, seeded once by
the run's seed on the first reset: a seed gives the same sequence of networks, episodes and
malfunctions. Flatland is imported only when an environment is made.
"""
from __future__ import annotations

import dataclasses
import types
from typing import Any, Dict, List, Optional

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError, MavaError, MissingDependencyError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_plugins.envs import flatland_observations as fo
from mava_plugins.envs.options import reject_unknown_options
from mava_plugins.envs.task_table import TaskTableFamily

FAMILY = "flatland"
DEFAULT_TASK = "tiny_2_agents"
EXTRA = "flatland"

#: every option, with the default a task starts from
DEFAULT_OPTIONS: Dict[str, Any] = {
    "width": 25,
    "height": 25,
    "num_agents": 2,
    "max_num_cities": 2,
    "max_rails_between_cities": 2,
    "max_rail_pairs_in_city": 1,
    "malfunctions": False,
    "malfunction_rate": 0.01,
    "tree_depth": 2,
    "predictor_depth": 10,
    "max_episode_steps": None,
    "render_mode": None,
    "rewards": "flatland",
}

#: task -> the options it changes
TASKS: Dict[str, Dict[str, Any]] = {
    "tiny_2_agents": {},
    "small_5_agents": {"width": 30, "height": 30, "num_agents": 5, "max_num_cities": 3},
    "medium_10_agents": {"width": 40, "height": 40, "num_agents": 10, "max_num_cities": 4},
}

#: how long a malfunction lasts when malfunctions are on (steps, drawn uniformly)
MALFUNCTION_DURATION = (2, 6)
_MAX_TREE_DEPTH = 4
_RENDER_MODES = (None, "rgb_array")
_REWARDS = ("flatland", "shaped")
#: with ``rewards=shaped``: paid to a train on the step it arrives, on top of its progress
ARRIVAL_BONUS = 10.0
_F32 = np.float32


@dataclasses.dataclass(frozen=True)
class FlatlandSettings:
    """A task's validated options (see :data:`DEFAULT_OPTIONS`)."""

    width: int
    height: int
    num_agents: int
    max_num_cities: int
    max_rails_between_cities: int
    max_rail_pairs_in_city: int
    malfunctions: bool
    malfunction_rate: float
    tree_depth: int
    predictor_depth: int
    max_episode_steps: Optional[int]
    render_mode: Optional[str]
    rewards: str

    @classmethod
    def from_options(cls, task: str, options: Dict[str, Any]) -> "FlatlandSettings":
        reject_unknown_options(f"{FAMILY}:{task}", options, DEFAULT_OPTIONS)
        values = {**DEFAULT_OPTIONS, **TASKS[task], **options}
        for key, minimum in (("width", 1), ("height", 1), ("num_agents", 1), ("max_num_cities", 1),
                             ("max_rails_between_cities", 1), ("max_rail_pairs_in_city", 1),
                             ("tree_depth", 1), ("predictor_depth", 0)):
            _check_int(key, values[key], minimum)
        if values["tree_depth"] > _MAX_TREE_DEPTH:
            raise ConfigError("env.tree_depth", f"must be at most {_MAX_TREE_DEPTH} (the observation grows 4x per level), got {values['tree_depth']!r}")
        if values["max_episode_steps"] is not None:
            _check_int("max_episode_steps", values["max_episode_steps"], 1)
        if not isinstance(values["malfunctions"], (bool, np.bool_)):
            raise ConfigError("env.malfunctions", f"must be true or false, got {values['malfunctions']!r}")
        rate = values["malfunction_rate"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ConfigError("env.malfunction_rate", f"must be a number in [0, 1] (malfunctions per train per step), got {rate!r}")
        if values["render_mode"] not in _RENDER_MODES:
            raise ConfigError("env.render_mode", f"must be rgb_array or unset, got {values['render_mode']!r}")
        if values["rewards"] not in _REWARDS:
            raise ConfigError("env.rewards", f"must be one of {', '.join(_REWARDS)}, got {values['rewards']!r}")
        values["malfunctions"] = bool(values["malfunctions"])
        values["malfunction_rate"] = float(rate)
        return cls(**values)


def _progress(before: float, after: float) -> float:
    """Cells of shortest-path distance a train closed on a step (negative when it moved away; 0 off the network)."""
    if not (np.isfinite(before) and np.isfinite(after)):
        return 0.0
    return float(before - after)


def _check_int(key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"env.{key}", f"must be an integer >= {minimum}, got {value!r}")


class _Timetable:
    """Flatland's timetable generator, with the episode's time limit replaced when one is set.

    It also remembers the time limit of the latest timetable (one is drawn per episode).
    """

    def __init__(self, generate: Any, max_episode_steps: Optional[int]):
        self._generate = generate
        self._limit = max_episode_steps
        self.max_episode_steps = 1

    def __call__(self, agents, distance_map, agents_hints, np_random=None):
        timetable = self._generate(agents, distance_map, agents_hints, np_random)
        if self._limit is not None:
            timetable = timetable._replace(max_episode_steps=self._limit)
        self.max_episode_steps = int(timetable.max_episode_steps)
        return timetable


def _import_flatland() -> types.SimpleNamespace:
    """The Flatland modules a rail environment is built from."""
    try:
        from flatland.envs import (
            line_generators,
            malfunction_generators,
            observations,
            predictions,
            rail_env,
            rail_generators,
            timetable_generators,
        )
    except ImportError as error:
        package = (error.name or "flatland").split(".")[0]
        raise MissingDependencyError(package, EXTRA, f"environment family {FAMILY!r}") from error
    return types.SimpleNamespace(
        rail_env=rail_env, rail_generators=rail_generators, line_generators=line_generators,
        malfunction_generators=malfunction_generators, observations=observations, predictions=predictions,
        timetable_generators=timetable_generators,
    )


def build_rail_env(settings: FlatlandSettings, seed: int):
    """A Flatland ``RailEnv`` for ``settings`` (not reset yet) and its timetable generator."""
    fl = _import_flatland()
    predictor = None
    if settings.predictor_depth > 0:
        predictor = fl.predictions.ShortestPathPredictorForRailEnv(max_depth=settings.predictor_depth)
    malfunctions = None
    if settings.malfunctions and settings.malfunction_rate > 0:
        low, high = MALFUNCTION_DURATION
        parameters = fl.malfunction_generators.MalfunctionParameters(settings.malfunction_rate, low, high)
        malfunctions = fl.malfunction_generators.ParamMalfunctionGen(parameters)
    timetable = _Timetable(fl.timetable_generators.timetable_generator, settings.max_episode_steps)
    env = fl.rail_env.RailEnv(
        width=settings.width,
        height=settings.height,
        rail_generator=fl.rail_generators.sparse_rail_generator(
            max_num_cities=settings.max_num_cities,
            grid_mode=False,
            max_rails_between_cities=settings.max_rails_between_cities,
            max_rail_pairs_in_city=settings.max_rail_pairs_in_city,
        ),
        line_generator=fl.line_generators.sparse_line_generator(speed_ratio_map={1.0: 1.0}),
        number_of_agents=settings.num_agents,
        obs_builder_object=fl.observations.TreeObsForRailEnv(max_depth=settings.tree_depth, predictor=predictor),
        malfunction_generator=malfunctions,
        timetable_generator=timetable,
        random_seed=seed,
    )
    return env, timetable


class FlatlandEnvironment(MultiAgentEnvironment):
    """A Flatland ``RailEnv`` as a parallel Mava environment (behaviour in the module docstring).

    The constructor draws the first episode (so that options Flatland cannot build a network
    for fail at once, as a ConfigError); the first ``reset()`` returns that episode.
    """

    def __init__(self, settings: FlatlandSettings, seed: int = 0, name: str = FAMILY):
        self._settings = settings
        self._name = name
        self._rail_env, self._timetable = build_rail_env(settings, seed)
        self._agents: List[str] = [f"train_{i}" for i in range(settings.num_agents)]
        self._flatten = fo.TreeFlattener(
            settings.tree_depth,
            distance_scale=settings.width + settings.height,
            num_agents=settings.num_agents,
            malfunction_scale=MALFUNCTION_DURATION[1] + 1,
        )
        size = fo.STATUS_SIZE + self._flatten.size
        agents = {
            agent: AgentSpec(
                observation=specs.Array((size,), _F32, f"{agent}_observation"),
                action=specs.DiscreteArray(fo.NUM_ACTIONS, dtype=np.int32, name=f"{agent}_action"),
            )
            for agent in self._agents
        }
        self._spec = MultiAgentSpec(
            agents=agents,
            state=specs.Array((size * len(self._agents),), _F32, "state"),
            has_action_masks=True,
        )
        self._zeros = np.zeros((size,), _F32)
        self._zeros.flags.writeable = False
        self._arrived_obs = AgentObservation(self._zeros, fo.NO_MOVES)
        self._arrived = [False] * len(self._agents)
        self._observations: List[np.ndarray] = [self._zeros] * len(self._agents)
        self._steps = 0
        self._episode = 0
        self._renderer = None
        self._rendered_episode = -1
        self._reset_next_step = True
        self._pending = self._draw_episode(seed)  # the first episode, returned by the first reset()

    # ------------------------------------------------------------------ episodes
    def _draw_episode(self, seed: Optional[int] = None) -> Dict[int, Any]:
        try:
            observations, _ = self._rail_env.reset(random_seed=seed) if seed is not None else self._rail_env.reset()
        except (ValueError, AssertionError) as error:
            s = self._settings
            raise ConfigError(
                "env",
                f"{self._name}: Flatland cannot build a rail network of {s.width}x{s.height} with "
                f"max_num_cities={s.max_num_cities}, num_agents={s.num_agents}: {error}",
            ) from error
        return observations

    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    @property
    def rail_env(self) -> Any:
        """The wrapped Flatland ``RailEnv``."""
        return self._rail_env

    @property
    def max_episode_steps(self) -> int:
        """The current episode's time limit."""
        return self._timetable.max_episode_steps

    def reset(self) -> dm_env.TimeStep:
        raw = self._pending if self._pending is not None else self._draw_episode()
        self._pending = None
        self._arrived = [False] * len(self._agents)
        self._steps = 0
        self._episode += 1
        self._reset_next_step = False
        observations = {agent: self._observe(h, raw.get(h)) for h, agent in enumerate(self._agents)}
        return first_timestep(self._spec, observations)

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        try:
            action_dict = {h: int(actions[agent]) for h, agent in enumerate(self._agents) if not self._arrived[h]}
        except KeyError as error:
            raise MavaError(f"{self._name}: no action given for train {error.args[0]!r}") from None
        shaped = self._settings.rewards == "shaped"
        before = [self.distance_to_target(h) for h in range(len(self._agents))] if shaped else None
        raw, rewards, dones, _ = self._rail_env.step(action_dict)
        self._steps += 1
        observations: Dict[str, AgentObservation] = {}
        out_rewards: Dict[str, float] = {}
        discounts: Dict[str, float] = {}
        for h, agent in enumerate(self._agents):
            if self._arrived[h]:  # arrived on an earlier step
                observations[agent] = self._arrived_obs
                self._observations[h] = self._zeros
                out_rewards[agent], discounts[agent] = 0.0, 0.0
                continue
            observations[agent] = self._observe(h, raw.get(h))
            arrived = int(self._rail_env.agents[h].state) == fo.DONE
            if shaped:
                out_rewards[agent] = _progress(before[h], self.distance_to_target(h)) + (ARRIVAL_BONUS if arrived else 0.0)
            else:
                out_rewards[agent] = float(rewards[h])
            self._arrived[h] = arrived
            discounts[agent] = 0.0 if arrived else 1.0
        last = bool(dones["__all__"])
        self._reset_next_step = last
        return next_timestep(observations, out_rewards, discounts, last)

    def _observe(self, handle: int, tree: Any) -> AgentObservation:
        train = self._rail_env.agents[handle]
        state = int(train.state)
        vector = np.concatenate([fo.status_features(state, self._steps / self.max_episode_steps), self._flatten(tree)])
        self._observations[handle] = vector
        return AgentObservation(vector, self.action_mask(handle))

    def distance_to_target(self, handle: int) -> float:
        """Train ``handle``'s shortest-path distance to its target in cells (Flatland's distance map).

        From its cell and direction; for a train not on the map yet, from its start cell and
        direction, plus the one step that puts it there; 0 once it has arrived; ``inf`` where the
        target cannot be reached.
        """
        train = self._rail_env.agents[handle]
        if int(train.state) == fo.DONE:
            return 0.0
        configuration, departure = train.current_configuration, 0.0
        if configuration is None or configuration[0] is None:
            configuration, departure = train.initial_configuration, 1.0
        (row, column), direction = configuration
        return float(self._rail_env.distance_map.get()[handle, row, column, int(direction)]) + departure

    def action_mask(self, handle: int) -> np.ndarray:
        """Legal actions of train ``handle`` now (see the module docstring)."""
        train = self._rail_env.agents[handle]
        state = int(train.state)
        if state in (fo.WAITING, fo.DONE):
            return fo.NO_MOVES
        if state in (fo.READY_TO_DEPART, fo.MALFUNCTION_OFF_MAP):
            configuration = train.initial_configuration  # a move puts the train on its start cell
        else:
            configuration = train.current_configuration
        return fo.legal_moves(self._rail_env.rail, configuration)

    # ------------------------------------------------------------------ extras
    def get_state(self) -> np.ndarray:
        return fo.concatenate(self._observations)

    def metrics(self) -> Dict[str, float]:
        trains = self._rail_env.agents
        arrived = sum(int(train.state) == fo.DONE for train in trains)
        return {"done_rate": arrived / max(len(trains), 1)}

    def render(self, mode: Optional[str] = None) -> np.ndarray:
        """An RGB frame (height, width, 3) of the rail network and trains, drawn by Flatland's renderer.

        Needs ``render_mode="rgb_array"``; works without a display.
        """
        render_mode = self._settings.render_mode
        if render_mode is None:
            raise ConfigError("env.render_mode", f"{self._name} was made without a render mode; pass env.render_mode=rgb_array to render it")
        if mode is not None and mode != render_mode:
            raise ConfigError("env.render_mode", f"{self._name} was made with render_mode={render_mode!r}, not {mode!r}")
        if self._renderer is None:
            from flatland.utils.rendertools import RenderTool

            self._renderer = RenderTool(self._rail_env, gl="PILSVG")
        if self._rendered_episode != self._episode:  # a new episode has a new rail network
            self._renderer.reset()
            self._rendered_episode = self._episode
        self._renderer.render_env(show=False, show_observations=False, show_predictions=False)
        return np.ascontiguousarray(self._renderer.get_image()[..., :3])

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close_window()
            self._renderer = None

    def __repr__(self) -> str:
        return f"FlatlandEnvironment({self._name}, trains={len(self._agents)})"


class FlatlandFamily(TaskTableFamily):
    """``flatland:<task>``: Flatland train scheduling on small generated rail networks."""

    name = FAMILY
    default_task = DEFAULT_TASK
    task_table = TASKS

    @classmethod
    def make(cls, task: str = DEFAULT_TASK, seed: int = 0, **options: Any) -> FlatlandEnvironment:
        cls.task_entry(task)
        settings = FlatlandSettings.from_options(task, options)
        return FlatlandEnvironment(settings, seed=seed, name=f"{FAMILY}:{task}")
