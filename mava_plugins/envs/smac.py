"""The ``smac`` environment family: the StarCraft Multi-Agent Challenge, wrapped for Mava.

``SMACFamily.make("3m", seed, **options)`` builds ``smac.env.StarCraft2Env(map_name="3m",
seed=seed, **options)`` and wraps it in :class:`SMACEnvironment`:

* agents ``agent_0 .. agent_{n-1}`` (SMAC's agent order), one discrete action space of
  ``n_actions`` (0 no-op, 1 stop, 2-5 move north/south/east/west, 6+ attack/heal a unit);
* observations are ``get_obs_agent(i)`` (float32) with ``get_avail_agent_actions(i)`` as the
  action mask; ``get_state()`` is the global state;
* SMAC's shared team reward goes to every agent;
* a dead unit's observation is all zeros (but for the timestep feature with
  ``obs_timestep_number``) and its only available action is the no-op (0);
* a battle that ends (won or lost) ends the episode with discount 0; reaching the map's
  episode limit ends it with discount 1 (truncation, not termination);
* a step that lost the game (SMAC restarts StarCraft II after a protocol or connection
  error and returns ``0, True, {}``) ends the episode as a truncation too: reward 0,
  discount 1, the observations the agents acted on, metric ``game_restarted`` 1;
* :meth:`SMACEnvironment.metrics` reports ``battle_won`` (the evaluator's mean of it is
  the win rate), ``timeout``, ``dead_allies``, ``dead_enemies`` and ``game_restarted``.

Both SMAC API generations work (see ``docs/environments/smac.md``): today's master, whose
``step`` reports ``dead_allies``/``dead_enemies`` in ``info`` (used as they are), and older
releases without them (counted from the action masks and SMAC's ``death_tracker_enemy``).
A reset before SMAC has seen an episode end (after a lost game, or mid-way through the
first episode) would make SMAC launch another StarCraft II and leave the running one behind,
and count the enemies' health into its reward scale again; the wrapper marks the episode as
counted first, so SMAC restarts the battle in the running game. With
``obs_timestep_number``, master's observations are one longer than its
``get_env_info()["obs_shape"]`` (an always-zero slot reserved for the timestep, then the
timestep appended); the wrapper drops that slot, so observations match the spec and end
with the timestep.

SMAC is imported only when an environment is made. The PyPI package called ``smac`` is
SMAC3, an unrelated hyper-parameter optimiser; it is detected and reported with the way
to install the real one (see ``docs/environments/smac.md``).
"""
from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional

import dm_env
import numpy as np
from dm_env import specs

from mava_core.environment import MultiAgentEnvironment, first_timestep, next_timestep
from mava_core.errors import ConfigError, MavaError, MissingDependencyError
from mava_core.specs import AgentObservation, AgentSpec, MultiAgentSpec
from mava_plugins.envs.options import keyword_defaults, reject_unknown_options
from mava_plugins.envs.task_table import TaskTableFamily

FAMILY = "smac"
DEFAULT_TASK = "3m"
INSTALL = "pip install git+https://github.com/oxwhirl/smac.git"
DOCS = "docs/environments/smac.md"

#: The maps shipped with SMAC (``smac/env/starcraft2/maps/smac_maps.py``).
MAPS: List[str] = [
    "3m", "8m", "25m", "5m_vs_6m", "8m_vs_9m", "10m_vs_11m", "27m_vs_30m", "MMM", "MMM2",
    "2s3z", "3s5z", "3s5z_vs_3s6z", "3s_vs_3z", "3s_vs_4z", "3s_vs_5z", "1c3s5z", "2m_vs_1z",
    "corridor", "6h_vs_8z", "2s_vs_1sc", "so_many_baneling", "bane_vs_bane", "2c_vs_64zg",
]

#: SMAC's built-in AI difficulties: "1" (very easy) .. "7" (very hard, the default), "8"-"A" cheats.
DIFFICULTIES = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "A")

#: Options the family sets itself: the map comes from the task, the seed from the run.
_RESERVED = ("map_name", "seed")

_F32 = np.float32


class SMACNotInstalledError(MissingDependencyError):
    """The real SMAC (``smac.env.StarCraft2Env``) cannot be imported."""

    def __init__(self, reason: str, package: str = "smac"):
        self.package = package
        self.extra = None
        message = (
            f"environment family {FAMILY!r} needs the StarCraft Multi-Agent Challenge (SMAC): {reason}. "
            f"Install it with: {INSTALL} (the PyPI package 'smac' is SMAC3, an unrelated optimiser), "
            f"then install StarCraft II and the SMAC maps under $SC2PATH as the SMAC README explains; see {DOCS}"
        )
        super(MissingDependencyError, self).__init__(message)


def import_starcraft2env() -> Any:
    """``smac.env.StarCraft2Env``, or :class:`SMACNotInstalledError` saying what is wrong."""
    try:
        importlib.import_module("smac")
    except ModuleNotFoundError as error:
        if (error.name or "smac") == "smac":
            raise SMACNotInstalledError("the package 'smac' is not installed") from None
        raise SMACNotInstalledError(f"importing smac failed ({error})") from None
    except ImportError as error:
        raise SMACNotInstalledError(f"importing smac failed ({error})") from None
    try:
        module = importlib.import_module("smac.env")
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing in ("smac", "smac.env"):
            raise SMACNotInstalledError(
                "the installed package 'smac' has no 'smac.env' module (it looks like SMAC3)"
            ) from None
        root = missing.split(".")[0] or "unknown"
        raise SMACNotInstalledError(
            f"SMAC is installed but its dependency {root!r} is missing ({error})", package=root
        ) from None
    except ImportError as error:
        raise SMACNotInstalledError(f"importing smac.env failed ({error})") from None
    env_class = getattr(module, "StarCraft2Env", None)
    if env_class is None:
        raise SMACNotInstalledError("the installed package 'smac' has no 'smac.env.StarCraft2Env'")
    return env_class


def _option_defaults(env_class: Any) -> Optional[Dict[str, Any]]:
    """Keyword options of the ``StarCraft2Env`` constructor and their defaults (None: unknown)."""
    return keyword_defaults(env_class, exclude=("self", *_RESERVED))


def check_options(task: str, options: Dict[str, Any], defaults: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Options checked by name and, against the constructor's defaults, by type.

    ``difficulty`` also accepts an integer 1-9 and is passed on as SMAC's string.
    """
    checked: Dict[str, Any] = {}
    for key, value in options.items():
        if key in _RESERVED:
            source = "the task name (smac:<map>)" if key == "map_name" else "the run's seed"
            raise ConfigError(f"env.{key}", f"is set from {source}; it is not an option of {FAMILY}:{task}")
        if defaults is not None:
            reject_unknown_options(f"{FAMILY}:{task}", {key: value}, defaults)
        if key == "difficulty":
            text = str(value).upper() if not isinstance(value, bool) else ""
            if text not in DIFFICULTIES:
                raise ConfigError(
                    "env.difficulty", f"must be one of {', '.join(DIFFICULTIES)} (SMAC's AI levels), got {value!r}"
                )
            checked[key] = text
            continue
        default = defaults.get(key) if defaults else None
        if isinstance(default, bool):
            if not isinstance(value, (bool, np.bool_)):
                raise ConfigError(f"env.{key}", f"must be true or false, got {value!r}")
            value = bool(value)
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ConfigError(f"env.{key}", f"must be a number, got {value!r}")
            if isinstance(value, np.integer):
                value = int(value)
            elif isinstance(value, np.floating):
                value = float(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"env.{key}", f"must be a string, got {value!r}")
        checked[key] = value
    return checked


class SMACEnvironment(MultiAgentEnvironment):
    """A ``StarCraft2Env`` as a parallel Mava environment with action masks and global state.

    Args:
        env: a ``smac.env.StarCraft2Env`` (or anything with its API).
        name: used in error messages (``smac:3m``).

    The spec is built from ``get_env_info()``, which SMAC answers without starting the
    game, so reading the spec does not launch StarCraft II; the first ``reset()`` does.
    """

    def __init__(self, env: Any, name: str = FAMILY):
        self._env = env
        self._name = name
        info = env.get_env_info()
        self._n = int(info["n_agents"])
        self._num_actions = int(info["n_actions"])
        self._episode_limit = int(info["episode_limit"])
        obs_size = self._obs_size = int(np.prod(info["obs_shape"]))
        state_size = int(np.prod(info["state_shape"]))
        self._agent_ids = [f"agent_{i}" for i in range(self._n)]
        self._spec = MultiAgentSpec(
            agents={
                aid: AgentSpec(
                    observation=specs.Array((obs_size,), _F32, f"{aid}_observation"),
                    action=specs.DiscreteArray(self._num_actions, dtype=np.int32, name=f"{aid}_action"),
                )
                for aid in self._agent_ids
            },
            state=specs.Array((state_size,), _F32, "state"),
            has_action_masks=True,
        )
        self._started = False
        self._reset_next_step = True
        self._steps = 0
        self._masks = np.zeros((self._n, self._num_actions), _F32)
        self._metrics: Dict[str, float] = {}
        self._last_info: Dict[str, Any] = {}
        self._last_observations: Dict[str, AgentObservation] = {}

    # ------------------------------------------------------------------ dm_env API
    def multi_agent_spec(self) -> MultiAgentSpec:
        return self._spec

    def reset(self) -> dm_env.TimeStep:
        if self._started and getattr(self._env, "_episode_count", None) == 0:
            # SMAC launches StarCraft II on every reset until an episode has ended (after a lost
            # game, or a reset mid-way through the first episode): it would leave the running game
            # behind and count the enemies' health into max_reward again, shrinking every later
            # reward. Counting the episode makes it restart the battle in the running game instead.
            self._env._episode_count = 1
        try:
            self._env.reset()
        except MavaError:
            raise
        except Exception as error:  # the first reset launches StarCraft II
            if self._started:
                raise
            raise MavaError(
                f"{self._name}: StarCraft II could not be started ({type(error).__name__}: {error}); "
                f"install StarCraft II and the SMAC maps and set $SC2PATH (see {DOCS})"
            ) from error
        self._started = True
        self._steps = 0
        self._reset_next_step = False
        self._metrics = {}
        self._last_info = {}
        return first_timestep(self._spec, self._observations())

    def step(self, actions: Dict[str, Any]) -> dm_env.TimeStep:
        if self._reset_next_step:
            return self.reset()
        joint = []
        for i, aid in enumerate(self._agent_ids):
            if aid not in actions:
                raise MavaError(f"{self._name}: no action for agent {aid!r}; every agent acts at every step")
            action = int(actions[aid])
            if not (0 <= action < self._num_actions) or self._masks[i, action] == 0:
                legal = np.flatnonzero(self._masks[i]).tolist()
                raise MavaError(
                    f"{self._name}: agent {aid!r} chose action {action}, which is not available now "
                    f"(available: {legal}); the policy must honour the action mask"
                )
            joint.append(action)
        reward, terminated, info = self._env.step(joint)
        self._steps += 1
        if terminated and not info:
            return self._game_restarted(float(reward))
        info = dict(info or {})
        observations = self._observations()
        self._last_info = info
        last = bool(terminated)
        discount = 1.0
        if last:
            won = bool(info.get("battle_won", False))
            all_dead = bool(np.all(self._masks[:, 0] == 1) and np.all(self._masks[:, 1:] == 0))
            # SMAC flags the time limit with info["episode_limit"] only when continuing_episode
            # is on, so a battle that is neither won nor lost at the limit is a timeout too.
            timeout = bool(info.get("episode_limit", False)) or (
                not won and not all_dead and self._steps >= self._episode_limit
            )
            discount = 1.0 if timeout else 0.0
            self._metrics = {
                "battle_won": float(won),
                "timeout": float(timeout),
                **self._dead_counts(info),
                "game_restarted": 0.0,
            }
        self._reset_next_step = last
        reward = float(reward)
        return next_timestep(
            observations,
            dict.fromkeys(self._agent_ids, reward),
            dict.fromkeys(self._agent_ids, discount),
            last,
        )

    def _game_restarted(self, reward: float) -> dm_env.TimeStep:
        """The episode SMAC gave up after losing the game (``0, True, {}``): a truncation.

        SMAC has already started a new game, whose units it reads on the next reset, so its
        observations now describe nothing; the last step repeats the observations the agents
        acted on (discount 1: the battle was interrupted, not decided). The dead counts are
        the last ones known; ``battle_won`` is 0 (SMAC's own ``get_stats()`` leaves such
        episodes out of its win rate; ``game_restarted`` tells them apart here).
        """
        self._metrics = {"battle_won": 0.0, "timeout": 0.0, **self._dead_counts(self._last_info), "game_restarted": 1.0}
        self._reset_next_step = True
        return next_timestep(
            self._last_observations,
            dict.fromkeys(self._agent_ids, reward),
            dict.fromkeys(self._agent_ids, 1.0),
            True,
        )

    def _dead_counts(self, info: Dict[str, Any]) -> Dict[str, float]:
        """``dead_allies``/``dead_enemies`` from SMAC's ``info`` (master) or, for older SMAC, counted here."""
        if "dead_allies" in info and "dead_enemies" in info:
            return {"dead_allies": float(info["dead_allies"]), "dead_enemies": float(info["dead_enemies"])}
        only_noop = (self._masks[:, 0] == 1) & (self._masks[:, 1:].sum(axis=1) == 0)  # dead units
        tracker = getattr(self._env, "death_tracker_enemy", None)
        counts = {"dead_allies": float(only_noop.sum())}
        if tracker is not None:
            counts["dead_enemies"] = float(np.sum(tracker))
        return counts

    def _observations(self) -> Dict[str, AgentObservation]:
        env = self._env
        self._masks = np.asarray(env.get_avail_actions(), dtype=_F32).reshape(self._n, self._num_actions)
        obs = self._rows(env.get_obs(), "observations")
        self._last_observations = {aid: AgentObservation(obs[i], self._masks[i]) for i, aid in enumerate(self._agent_ids)}
        return self._last_observations

    def _rows(self, observations: Any, what: str) -> np.ndarray:
        """``n_agents`` observations of the spec's size, without master's reserved timestep slot."""
        rows = np.asarray(observations, dtype=_F32).reshape(self._n, -1)
        size = self._obs_size
        if rows.shape[1] == size + 1 and getattr(self._env, "obs_timestep_number", False):
            rows = np.delete(rows, size - 1, axis=1)  # the zero slot before the appended timestep
        if rows.shape[1] != size:
            raise MavaError(
                f"{self._name}: SMAC's {what} have {rows.shape[1]} features per agent, but its "
                f"get_env_info() says obs_shape {size}; this SMAC version is not supported (see {DOCS})"
            )
        return rows

    def get_state(self) -> np.ndarray:
        env = self._env
        if getattr(env, "obs_instead_of_state", False):
            return self._rows(env.get_obs(), "observations (as the state)").reshape(-1)
        return np.asarray(env.get_state(), dtype=_F32).reshape(-1)

    def metrics(self) -> Dict[str, float]:
        return dict(self._metrics)

    def close(self) -> None:
        self._env.close()

    @property
    def smac_env(self) -> Any:
        """The wrapped ``StarCraft2Env`` (for ``get_stats()``, ``save_replay()``, ...)."""
        return self._env


class SMACFamily(TaskTableFamily):
    """StarCraft Multi-Agent Challenge maps (``smac:3m``, ``smac:2s3z``, ...); needs SMAC and SC2."""

    name = FAMILY
    default_task = DEFAULT_TASK
    task_table = dict.fromkeys(MAPS)  # maps carry no settings of their own
    task_word = "map"

    @classmethod
    def make(cls, task: str = DEFAULT_TASK, seed: int = 0, **options: Any) -> SMACEnvironment:
        """A wrapped ``StarCraft2Env(map_name=task, seed=seed, **options)``.

        ``options`` are ``StarCraft2Env`` keyword arguments (``difficulty``, ``step_mul``,
        ``reward_sparse``, ``obs_last_action``, ...), checked by name and type.
        """
        cls.task_entry(task)
        env_class = import_starcraft2env()
        kwargs = check_options(task, options, _option_defaults(env_class))
        try:
            env = env_class(map_name=task, seed=int(seed), **kwargs)
        except (TypeError, ValueError, KeyError, AssertionError) as error:
            raise ConfigError("env", f"{FAMILY}:{task} rejected options {options}: {error}") from error
        return SMACEnvironment(env, name=f"{FAMILY}:{task}")
