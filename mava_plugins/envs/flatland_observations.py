"""Fixed-size observations and legal-action masks for Flatland trains (numpy only).

Flatland's ``TreeObsForRailEnv`` gives each train a nested tree of ``Node`` tuples: the root
is the train's own cell, and every node has up to four children, one per branch the train can
take at the next switch, keyed ``L``, ``F``, ``R``, ``B`` (left, forward, right, back). A branch
that does not exist is ``-inf``; nodes at the maximum depth have no children. Distances that
were not observed (no target, no other train on the branch) are ``+inf``.

:class:`TreeFlattener` turns such a tree into a float32 vector of constant size:

* the full 4-ary tree of depth ``d`` has ``(4 ** (d + 1) - 1) / 3`` node slots, laid out in level
  order (root; its L, F, R, B children; their children, L, F, R, B each, ...);
* each slot holds the node's 12 features (:data:`NODE_FEATURES`), normalised to ``[0, 1]``:
  the seven distances are divided by ``distance_scale`` (the grid's width plus height) and
  clipped, with ``inf`` ("nothing found") read as 1; the train counts (same direction,
  opposite direction, ready to depart) are divided by the number of trains; the malfunction
  count (steps the observed train stays broken) by ``malfunction_scale``; the slowest speed
  is already a fraction in ``[0, 1]``;
* a slot with no node (missing branch, or below a missing branch) is all ``-1``.

:func:`status_features` is a short block in front of the tree: a one-hot of the train's state
(Flatland's ``TrainState``: waiting, ready to depart, malfunction off map, moving, stopped,
malfunction, done) and the elapsed fraction of the episode.

:func:`legal_moves` reads the rail's transitions at a cell and direction and says which of
Flatland's five actions (``RailEnvActions``: 0 do nothing, 1 left, 2 forward, 3 right, 4 stop)
a train may take there without Flatland rejecting or silently correcting it.

Nothing here imports Flatland: trees, states and rails are read through their attributes.
"""
from __future__ import annotations

import functools
from typing import Any, Sequence, Tuple

import numpy as np

_F32 = np.float32

#: the features of one tree node, in Flatland's ``Node`` order
NODE_FEATURES: Tuple[str, ...] = (
    "dist_own_target_encountered",
    "dist_other_target_encountered",
    "dist_other_agent_encountered",
    "dist_potential_conflict",
    "dist_unusable_switch",
    "dist_to_next_branch",
    "dist_min_to_target",
    "num_agents_same_direction",
    "num_agents_opposite_direction",
    "num_agents_malfunctioning",
    "speed_min_fractional",
    "num_agents_ready_to_depart",
)
_DISTANCES = slice(0, 7)
_COUNTS = [7, 8, 11]
_MALFUNCTION = 9
_SPEED = 10
BRANCHES = ("L", "F", "R", "B")
MISSING = -1.0

#: Flatland's ``TrainState`` values
WAITING, READY_TO_DEPART, MALFUNCTION_OFF_MAP, MOVING, STOPPED, MALFUNCTION, DONE = range(7)
NUM_STATES = 7
STATUS_SIZE = NUM_STATES + 1

#: Flatland's ``RailEnvActions`` values
DO_NOTHING, MOVE_LEFT, MOVE_FORWARD, MOVE_RIGHT, STOP_MOVING = range(5)
NUM_ACTIONS = 5


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


#: the mask of a train whose moves have no effect now (waiting, arrived): do nothing or stop
NO_MOVES = _readonly(np.array([1.0, 0.0, 0.0, 0.0, 1.0], _F32))


def tree_nodes(depth: int) -> int:
    """Node slots in a full 4-ary tree of ``depth`` levels below the root."""
    return (4 ** (depth + 1) - 1) // 3


class TreeFlattener:
    """Flattens and normalises ``TreeObsForRailEnv`` trees of one depth (layout in the module docstring)."""

    def __init__(self, depth: int, distance_scale: float, num_agents: int, malfunction_scale: float):
        self.depth = int(depth)
        self.num_nodes = tree_nodes(self.depth)
        self.size = self.num_nodes * len(NODE_FEATURES)
        self._distance_scale = float(distance_scale)
        self._num_agents = float(max(num_agents, 1))
        self._malfunction_scale = float(max(malfunction_scale, 1))

    def raw(self, root: Any) -> np.ndarray:
        """The tree's features as a ``(num_nodes, 12)`` array in level order; NaN rows are missing nodes."""
        rows = np.full((self.num_nodes, len(NODE_FEATURES)), np.nan)
        level: list = [root]
        slot = 0
        for d in range(self.depth + 1):
            below: list = []
            for node in level:
                children = getattr(node, "childs", None)
                if children is not None:  # a real node (missing ones are -inf or None)
                    rows[slot] = [float(value) for value in node[: len(NODE_FEATURES)]]
                slot += 1
                if d < self.depth:
                    below.extend(children.get(key) if children else None for key in BRANCHES)
            level = below
        return rows

    def __call__(self, root: Any) -> np.ndarray:
        rows = self.raw(root)
        missing = np.isnan(rows[:, 0])
        out = np.empty_like(rows)
        distances = rows[:, _DISTANCES]
        out[:, _DISTANCES] = np.where(np.isfinite(distances), distances / self._distance_scale, 1.0)
        out[:, _COUNTS] = rows[:, _COUNTS] / self._num_agents
        out[:, _MALFUNCTION] = rows[:, _MALFUNCTION] / self._malfunction_scale
        speed = rows[:, _SPEED]
        out[:, _SPEED] = np.where(np.isfinite(speed), speed, 1.0)
        np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(out, 0.0, 1.0, out=out)
        out[missing] = MISSING
        return out.reshape(-1).astype(_F32)


def status_features(state: int, elapsed_fraction: float) -> np.ndarray:
    """One-hot of the train's state, then the elapsed fraction of the episode (clipped to [0, 1])."""
    out = np.zeros((STATUS_SIZE,), _F32)
    out[int(state)] = 1.0
    out[NUM_STATES] = min(max(float(elapsed_fraction), 0.0), 1.0)
    return out


def legal_moves(rail: Any, configuration: Tuple[Tuple[int, int], int]) -> np.ndarray:
    """The action mask of a train at ``configuration`` (``((row, col), direction)``) on ``rail``.

    Do nothing and stop are always legal. Forward is legal when the rail leads on from this
    cell in the train's direction of travel (following a curve, or reversing at a dead end, is
    forward). Left (right) is legal only when the cell has a branch turning left (right) of the
    direction of travel: a left or right that Flatland would correct to forward, or reject, is
    masked. ``rail.apply_action_independent`` is Flatland's own check that a move leads to a
    valid cell and direction.
    """
    _, direction = configuration
    expected = {MOVE_LEFT: (direction - 1) % 4, MOVE_RIGHT: (direction + 1) % 4}
    mask = np.array(NO_MOVES)
    for action in (MOVE_LEFT, MOVE_FORWARD, MOVE_RIGHT):
        outcome = rail.apply_action_independent(_rail_action(action), configuration)
        if outcome is None:
            continue
        (_, new_direction), _ = outcome
        if action == MOVE_FORWARD or new_direction == expected[action]:
            mask[action] = 1.0
    return mask


@functools.lru_cache(maxsize=None)
def _rail_action(action: int) -> Any:
    from flatland.envs.rail_env_action import RailEnvActions  # only reached with a Flatland rail

    return RailEnvActions.from_value(action)


def concatenate(observations: Sequence[np.ndarray]) -> np.ndarray:
    """The global state: every train's observation, in agent order."""
    return np.concatenate(observations).astype(_F32, copy=False)
