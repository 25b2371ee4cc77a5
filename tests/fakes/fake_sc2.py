"""A stand-in for the StarCraft II game under the REAL SMAC: its launch and its controller.

Real SMAC (``smac.env.StarCraft2Env``) talks to StarCraft II only through pysc2's
``run_configs.get(version).start(...)`` (which launches the game and returns a process with a
``controller``), ``maps.get(map_name)`` and that controller's ``create_game``, ``join_game``,
``game_info``, ``observe``, ``actions``, ``step``, ``debug`` and ``save_replay``. This module
serves those calls with s2clientprotocol messages from a small simulated battle, so every
line of SMAC above the game runs as it does against StarCraft II. :func:`patch_smac` swaps
the game in for one ``StarCraft2Env`` module.

Written from the protocol (``s2clientprotocol``) and from how SMAC reads it; simplified:
a 32x32 open map, units walk ``SPEED`` per game loop, fire when their target is in range and
their cooldown is over, and damage takes shields first. The built-in AI orders each of its
units to attack the nearest living ally. Dead units leave the observation, as in the game,
and when no unit is left the map spawns both teams again (SMAC's maps do that with a
trigger; SMAC's reset kills every unit to restart a battle). Needs pysc2 and
s2clientprotocol, so it is imported only where real SMAC is installed.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional

import numpy as np
from pysc2.lib import protocol
from s2clientprotocol import common_pb2 as sc_common
from s2clientprotocol import raw_pb2 as r_pb
from s2clientprotocol import sc2api_pb2 as sc_pb

MAP_SIZE = 32
SPEED = 0.15  # map units per game loop (a marine walks about 3.15 per game second of 22.4 loops)
ABILITY_MOVE, ABILITY_ATTACK, ABILITY_STOP = 16, 23, 4  # SMAC's ability ids

#: unit kind -> (health, shield, range, damage, cooldown in loops)
KINDS = {
    "marine": (45.0, 0.0, 5.0, 6.0, 15),
    "stalker": (80.0, 80.0, 6.0, 13.0, 30),
    "zealot": (100.0, 50.0, 1.0, 16.0, 20),
}
#: map -> (ally kinds, enemy kinds); ally unit types are SMAC's own (new) types, enemy ones SC2's
TEAMS = {
    "3m": (["marine"] * 3, ["marine"] * 3),
    "2s3z": (["stalker"] * 2 + ["zealot"] * 3, ["stalker"] * 2 + ["zealot"] * 3),
}
ALLY_TYPES = {"marine": 1970, "stalker": 1970, "zealot": 1971}
ENEMY_TYPES = {"marine": 48, "stalker": 74, "zealot": 73}


class _Unit:
    def __init__(self, tag: int, kind: str, owner: int, x: float, y: float):
        self.tag, self.kind, self.owner = tag, kind, owner
        self.health, self.shield, self.range, self.damage, self.max_cooldown = KINDS[kind]
        self.health_max, self.shield_max = self.health, self.shield
        self.unit_type = (ALLY_TYPES if owner == 1 else ENEMY_TYPES)[kind]
        self.x, self.y = x, y
        self.cooldown = 0
        self.order: Optional[tuple] = None  # ("move", x, y) or ("attack", tag)

    def proto(self) -> r_pb.Unit:
        return r_pb.Unit(
            display_type=r_pb.Visible, alliance=r_pb.Self if self.owner == 1 else r_pb.Enemy, tag=self.tag,
            unit_type=self.unit_type, owner=self.owner, pos=sc_common.Point(x=self.x, y=self.y, z=8.0),
            health=self.health, health_max=self.health_max, shield=self.shield, shield_max=self.shield_max,
            weapon_cooldown=float(self.cooldown), build_progress=1.0,
        )


class FakeGame:
    """One simulated StarCraft II game: a map with two teams that fight on ``step``."""

    def __init__(self, map_name: str, seed: Optional[int]):
        if map_name not in TEAMS:
            raise KeyError(f"the fake StarCraft II knows the maps {sorted(TEAMS)}, not {map_name!r}")
        self.map_name = map_name
        self.rng = np.random.default_rng(seed)
        self.units: Dict[int, _Unit] = {}
        self.next_tag = 1000
        self.game_loop = 0
        self.spawns = 0
        self.actions_received: List[sc_pb.RequestAction] = []
        self.fail_next: Optional[Exception] = None  # raised by the next step(), as a dead game would
        self.spawn()

    def spawn(self) -> None:
        allies, enemies = TEAMS[self.map_name]
        for owner, kinds, x in ((1, allies, 11.0), (2, enemies, 19.0)):
            for i, kind in enumerate(kinds):
                y = 13.0 + 1.5 * i + float(self.rng.uniform(-0.3, 0.3))
                self.units[self.next_tag] = _Unit(self.next_tag, kind, owner, x + float(self.rng.uniform(-0.3, 0.3)), y)
                self.next_tag += 1
        self.spawns += 1

    def team(self, owner: int) -> List[_Unit]:
        return [u for u in self.units.values() if u.owner == owner]

    # ------------------------------------------------------------------ orders and time
    def apply(self, request: sc_pb.RequestAction) -> None:
        self.actions_received.append(request)
        for action in request.actions:
            command = action.action_raw.unit_command
            for tag in command.unit_tags:
                unit = self.units.get(tag)
                if unit is None:
                    continue
                if command.ability_id == ABILITY_STOP:
                    unit.order = None
                elif command.ability_id == ABILITY_MOVE:
                    point = command.target_world_space_pos
                    unit.order = ("move", point.x, point.y)
                elif command.ability_id == ABILITY_ATTACK:
                    unit.order = ("attack", command.target_unit_tag)
                else:
                    raise protocol.ProtocolError(f"the fake game has no ability {command.ability_id}")

    def _walk(self, unit: _Unit, x: float, y: float) -> None:
        dx, dy = x - unit.x, y - unit.y
        dist = math.hypot(dx, dy)
        step = min(SPEED, dist)
        if dist > 0:
            unit.x = min(max(unit.x + step * dx / dist, 0.5), MAP_SIZE - 0.5)
            unit.y = min(max(unit.y + step * dy / dist, 0.5), MAP_SIZE - 0.5)

    def _loop(self) -> None:
        allies = self.team(1)
        for enemy in self.team(2):  # the built-in AI: attack the nearest living ally
            if allies and (enemy.order is None or enemy.order[1] not in self.units):
                nearest = min(allies, key=lambda a: math.hypot(a.x - enemy.x, a.y - enemy.y))
                enemy.order = ("attack", nearest.tag)
        for unit in list(self.units.values()):
            unit.cooldown = max(unit.cooldown - 1, 0)
            if unit.order is None:
                continue
            if unit.order[0] == "move":
                self._walk(unit, unit.order[1], unit.order[2])
                continue
            target = self.units.get(unit.order[1])
            if target is None:
                unit.order = None
            elif math.hypot(target.x - unit.x, target.y - unit.y) > unit.range + 0.5:
                self._walk(unit, target.x, target.y)
            elif unit.cooldown == 0:
                absorbed = min(target.shield, unit.damage)
                target.shield -= absorbed
                target.health = max(target.health - (unit.damage - absorbed), 0.0)
                unit.cooldown = unit.max_cooldown
        for tag in [t for t, u in self.units.items() if u.health <= 0]:
            del self.units[tag]  # the dead leave the observation
        if not self.units:
            self.spawn()  # the SMAC map's trigger: a new battle once nobody is left
        self.game_loop += 1

    def step(self, count: int) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        for _ in range(int(count)):
            self._loop()

    def kill(self, tags) -> None:
        for tag in tags:
            self.units.pop(tag, None)

    # ------------------------------------------------------------------ messages
    def game_info(self) -> sc_pb.ResponseGameInfo:
        bits = sc_common.ImageData(bits_per_pixel=1, size=sc_common.Size2DI(x=MAP_SIZE, y=MAP_SIZE),
                                   data=bytes([0xFF]) * (MAP_SIZE * MAP_SIZE // 8))
        heights = sc_common.ImageData(bits_per_pixel=8, size=sc_common.Size2DI(x=MAP_SIZE, y=MAP_SIZE),
                                      data=bytes([128]) * (MAP_SIZE * MAP_SIZE))
        area = sc_common.RectangleI(p0=sc_common.PointI(x=0, y=0), p1=sc_common.PointI(x=MAP_SIZE, y=MAP_SIZE))
        start = r_pb.StartRaw(map_size=sc_common.Size2DI(x=MAP_SIZE, y=MAP_SIZE), pathing_grid=bits,
                               terrain_height=heights, placement_grid=bits, playable_area=area)
        return sc_pb.ResponseGameInfo(map_name=self.map_name, start_raw=start)

    def observation(self) -> sc_pb.ResponseObservation:
        raw = r_pb.ObservationRaw(units=[u.proto() for u in self.units.values()])
        return sc_pb.ResponseObservation(observation=sc_pb.Observation(game_loop=self.game_loop, raw_data=raw))


class FakeController:
    """The calls SMAC makes on pysc2's ``RemoteController``, answered by a :class:`FakeGame`."""

    def __init__(self, launcher: "FakeLauncher"):
        self._launcher = launcher
        self.game: Optional[FakeGame] = None
        self.closed = False

    def _live_game(self) -> FakeGame:
        if self.closed:
            raise protocol.ConnectionError("the fake StarCraft II process was closed")
        if self.game is None:
            raise protocol.ProtocolError("no game: create_game was not called")
        return self.game

    def create_game(self, request: sc_pb.RequestCreateGame) -> None:
        self._launcher.create_requests.append(request)
        map_name = request.local_map.map_path.rsplit("/", 1)[-1].replace(".SC2Map", "")
        seed = request.random_seed if request.HasField("random_seed") else None
        self.game = FakeGame(map_name, seed)
        self._launcher.games.append(self.game)

    def join_game(self, request: sc_pb.RequestJoinGame) -> None:
        self._live_game()

    def game_info(self) -> sc_pb.ResponseGameInfo:
        return self._live_game().game_info()

    def observe(self) -> sc_pb.ResponseObservation:
        return self._live_game().observation()

    def actions(self, request: sc_pb.RequestAction) -> None:
        self._live_game().apply(request)

    def step(self, count: int = 1) -> None:
        self._live_game().step(count)

    def debug(self, commands) -> None:
        game = self._live_game()
        for command in commands:
            if command.HasField("kill_unit"):
                game.kill(command.kill_unit.tag)

    def save_replay(self) -> bytes:
        self._live_game()
        return b"fake replay"


class FakeProcess:
    """What ``run_config.start()`` returns: the game process with its controller."""

    def __init__(self, launcher: "FakeLauncher"):
        self.controller = FakeController(launcher)

    def close(self) -> None:
        self.controller.closed = True


class FakeMap:
    def __init__(self, name: str):
        self.name = name
        self.path = f"SMAC_Maps/{name}.SC2Map"


class FakeLauncher:
    """Stands in for pysc2's ``run_configs`` and ``maps`` modules inside SMAC; records what SMAC did."""

    def __init__(self):
        self.processes: List[FakeProcess] = []
        self.games: List[FakeGame] = []
        self.create_requests: List[sc_pb.RequestCreateGame] = []
        self.versions: List[Optional[str]] = []
        self.replays: List[tuple] = []

    # pysc2.run_configs.get(version=...) -> a run config; here the launcher is its own run config
    def get(self, version=None) -> "FakeLauncher":
        self.versions.append(version)
        return self

    def start(self, window_size=None, want_rgb=True, **_) -> FakeProcess:
        process = FakeProcess(self)
        self.processes.append(process)
        return process

    def map_data(self, path: str) -> bytes:
        return b"fake map " + path.encode()

    def save_replay(self, replay_data: bytes, replay_dir: str, prefix: str) -> str:
        self.replays.append((replay_data, replay_dir, prefix))
        return f"{replay_dir or 'Replays'}/{prefix}.SC2Replay"

    @property
    def game(self) -> FakeGame:
        """The game the latest process plays."""
        return self.games[-1]


class _Maps:
    @staticmethod
    def get(name: str) -> FakeMap:
        return FakeMap(name)


def patch_smac(monkeypatch, starcraft2_module) -> FakeLauncher:
    """Replace the game's launch in SMAC's ``starcraft2`` module (pysc2's ``run_configs`` and ``maps``)."""
    launcher = FakeLauncher()
    monkeypatch.setattr(starcraft2_module, "run_configs", launcher)
    monkeypatch.setattr(starcraft2_module, "maps", _Maps)
    return launcher
