"""The privileged view of the game: a typed, immutable :class:`EngineState`.

Teachers read it; students never do (it is not part of any observation). Objects are stored as
a structure of read-only NumPy arrays so that teachers can work on them vectorised.

Conventions (ViZDoom 1.3): map units; ``angle`` in degrees, 0 = +x (east), counter-clockwise
positive (TURN_LEFT increases it); screen boxes in pixels of the engine's render resolution.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any

import numpy as np


class Category(enum.IntEnum):
    """What an object is, for a teacher."""

    OTHER = 0
    """Decorations, blood, bullet puffs, the player's own actor, teleport fog..."""
    ENEMY = 1
    """A monster that can hurt the player."""
    PICKUP = 2
    """Something the player can pick up (health, armor, ammo, weapons, poison)."""
    PROJECTILE = 3
    """A flying missile (fireballs, rockets, plasma)."""


ENEMY_NAMES = frozenset(
    {
        "Zombieman",
        "ShotgunGuy",
        "ChaingunGuy",
        "WolfensteinSS",
        "DoomImp",
        "Demon",
        "Spectre",
        "LostSoul",
        "Cacodemon",
        "HellKnight",
        "BaronOfHell",
        "Arachnotron",
        "PainElemental",
        "Revenant",
        "Fatso",
        "Archvile",
        "Cyberdemon",
        "SpiderMastermind",
        "CommanderKeen",
        "MarineChainsawVzd",
        "ScriptedMarine",
    }
)
PICKUP_NAMES = frozenset(
    {
        "Medikit",
        "Stimpack",
        "HealthBonus",
        "CustomMedikit",
        "Poison",
        "Soulsphere",
        "Megasphere",
        "GreenArmor",
        "BlueArmor",
        "ArmorBonus",
        "Clip",
        "ClipBox",
        "Shell",
        "ShellBox",
        "RocketAmmo",
        "RocketBox",
        "Cell",
        "CellPack",
        "Backpack",
        "Shotgun",
        "SuperShotgun",
        "Chaingun",
        "RocketLauncher",
        "PlasmaRifle",
        "BFG9000",
        "Chainsaw",
        "Berserk",
        "InvulnerabilitySphere",
        "BlurSphere",
        "RadSuit",
        "Allmap",
        "Infrared",
    }
)
PROJECTILE_NAMES = frozenset(
    {
        "DoomImpBall",
        "CacodemonBall",
        "BaronBall",
        "Rocket",
        "PlasmaBall",
        "ArachnotronPlasma",
        "RevenantTracer",
        "FatShot",
        "BFGBall",
        "ArchvileFire",
        "SpectralLightningBall",
    }
)
HARMFUL_PICKUP_NAMES = frozenset({"Poison"})
"""Pickups that hurt (health_gathering_supreme's vials): same category, filter by name."""


def categorize(name: str) -> Category:
    """Returns the :class:`Category` of an actor class name."""
    if name in ENEMY_NAMES:
        return Category.ENEMY
    if name in PROJECTILE_NAMES:
        return Category.PROJECTILE
    if name in PICKUP_NAMES:
        return Category.PICKUP
    return Category.OTHER


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclasses.dataclass(frozen=True)
class PlayerState:
    """The player's own state."""

    position: np.ndarray
    """``(x, y, z)`` in map units."""
    angle: float
    """Yaw in degrees, 0 = east, counter-clockwise positive."""
    velocity: np.ndarray
    """``(vx, vy, vz)`` in map units per tic."""
    health: float
    armor: float
    ammo: float
    """Ammo of the selected weapon."""
    weapon: int
    """Selected weapon slot."""


@dataclasses.dataclass(frozen=True)
class Objects:
    """Every actor in the level (visible or not), as parallel read-only arrays of length N."""

    id: np.ndarray
    """int64 actor ids, stable during an episode."""
    name: tuple[str, ...]
    """Actor class names, e.g. ``DoomImp``."""
    category: np.ndarray
    """int8 :class:`Category` values."""
    position: np.ndarray
    """float32 ``(N, 3)``."""
    angle: np.ndarray
    """float32 ``(N,)`` degrees."""
    velocity: np.ndarray
    """float32 ``(N, 3)`` map units per tic (walking monsters report 0)."""
    visible: np.ndarray
    """bool ``(N,)``: drawn on screen this step (has a box in the labels buffer; all False when
    the env runs with ``EnvConfig(labels=False)``)."""
    box: np.ndarray
    """float32 ``(N, 4)`` screen box ``(x, y, width, height)`` in render pixels; NaN if unseen."""

    def __len__(self) -> int:
        return len(self.id)

    def select(self, mask: np.ndarray) -> Objects:
        """Returns the objects where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        return Objects(
            id=_frozen(self.id[mask]),
            name=tuple(n for n, keep in zip(self.name, mask, strict=True) if keep),
            category=_frozen(self.category[mask]),
            position=_frozen(self.position[mask]),
            angle=_frozen(self.angle[mask]),
            velocity=_frozen(self.velocity[mask]),
            visible=_frozen(self.visible[mask]),
            box=_frozen(self.box[mask]),
        )

    def of(self, category: Category) -> Objects:
        """Returns the objects of one category."""
        return self.select(self.category == category)

    def named(self, *names: str) -> Objects:
        """Returns the objects whose class name is one of ``names``."""
        return self.select(np.isin(np.asarray(self.name, dtype=object), names))


@dataclasses.dataclass(frozen=True)
class Walls:
    """The map's line segments, each listed once."""

    segments: np.ndarray
    """float32 ``(M, 4)``: ``(x1, y1, x2, y2)``."""
    blocking: np.ndarray
    """bool ``(M,)``: impassable for walking (not necessarily opaque)."""
    one_sided: np.ndarray
    """bool ``(M,)``: bounds exactly one sector: a solid wall that blocks sight."""

    def __len__(self) -> int:
        return len(self.segments)


@dataclasses.dataclass(frozen=True)
class EngineState:
    """A snapshot of the game the student cannot see."""

    tic: int
    """Episode time in tics (35 per second)."""
    player: PlayerState
    objects: Objects
    walls: Walls
    screen_size: tuple[int, int]
    """``(width, height)`` of the engine's render, the frame of ``Objects.box``."""

    @property
    def enemies(self) -> Objects:
        """Objects of category ENEMY."""
        return self.objects.of(Category.ENEMY)

    @property
    def projectiles(self) -> Objects:
        """Objects of category PROJECTILE."""
        return self.objects.of(Category.PROJECTILE)

    @property
    def pickups(self) -> Objects:
        """Objects of category PICKUP."""
        return self.objects.of(Category.PICKUP)


PLAYER_VARIABLES = (
    "POSITION_X",
    "POSITION_Y",
    "POSITION_Z",
    "ANGLE",
    "VELOCITY_X",
    "VELOCITY_Y",
    "VELOCITY_Z",
    "HEALTH",
    "ARMOR",
    "SELECTED_WEAPON_AMMO",
    "SELECTED_WEAPON",
)
"""Game variables the environment adds when the engine state is enabled."""


def walls_from_sectors(sectors: Sequence[Any]) -> Walls:
    """Builds :class:`Walls` from ViZDoom sectors: a line shared by two sectors is two-sided."""
    rows = [
        (line.x1, line.y1, line.x2, line.y2, line.is_blocking)
        for sector in sectors
        for line in sector.lines
    ]
    if not rows:
        empty = np.zeros((0, 4), np.float32)
        return Walls(_frozen(empty), _frozen(np.zeros(0, bool)), _frozen(np.zeros(0, bool)))
    table = np.asarray(rows, dtype=np.float64)
    coords = table[:, :4]
    # Undirected key: the same line seen from both sectors may be listed in either direction.
    swap = (coords[:, 0] > coords[:, 2]) | (
        (coords[:, 0] == coords[:, 2]) & (coords[:, 1] > coords[:, 3])
    )
    keys = np.where(swap[:, None], coords[:, [2, 3, 0, 1]], coords)
    unique, first, inverse, counts = np.unique(
        keys, axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.argsort(first)
    blocking = np.zeros(len(unique), bool)
    inverse = inverse.reshape(-1)
    np.logical_or.at(blocking, inverse, table[:, 4] > 0)
    return Walls(
        segments=_frozen(coords[first[order]].astype(np.float32)),
        blocking=_frozen(blocking[order]),
        one_sided=_frozen(counts[order] == 1),
    )


def objects_from_state(objects: Sequence[Any], labels: Sequence[Any]) -> Objects:
    """Builds :class:`Objects` from ViZDoom objects and labels (boxes come from the labels)."""
    n = len(objects)
    ids = np.fromiter((o.id for o in objects), np.int64, n)
    names = tuple(o.name for o in objects)
    numeric = np.asarray(
        [
            (
                o.position_x,
                o.position_y,
                o.position_z,
                o.angle,
                o.velocity_x,
                o.velocity_y,
                o.velocity_z,
            )
            for o in objects
        ],
        dtype=np.float32,
    ).reshape(n, 7)
    box = np.full((n, 4), np.nan, np.float32)
    if labels and n:
        label_ids = np.fromiter((lb.object_id for lb in labels), np.int64, len(labels))
        label_boxes = np.asarray([(lb.x, lb.y, lb.width, lb.height) for lb in labels], np.float32)
        order = np.argsort(ids)
        where = np.searchsorted(ids[order], label_ids)
        where = np.clip(where, 0, n - 1)
        found = ids[order][where] == label_ids
        box[order[where[found]]] = label_boxes[found]
    category = np.fromiter((categorize(name) for name in names), np.int8, n)
    return Objects(
        id=_frozen(ids),
        name=names,
        category=_frozen(category),
        position=_frozen(np.ascontiguousarray(numeric[:, 0:3])),
        angle=_frozen(np.ascontiguousarray(numeric[:, 3])),
        velocity=_frozen(np.ascontiguousarray(numeric[:, 4:7])),
        visible=_frozen(~np.isnan(box[:, 0])),
        box=_frozen(box),
    )


def player_from_variables(values: dict[str, float]) -> PlayerState:
    """Builds :class:`PlayerState` from a name -> value mapping of :data:`PLAYER_VARIABLES`."""
    return PlayerState(
        position=_frozen(
            np.array([values["POSITION_X"], values["POSITION_Y"], values["POSITION_Z"]], np.float32)
        ),
        angle=float(values["ANGLE"]),
        velocity=_frozen(
            np.array([values["VELOCITY_X"], values["VELOCITY_Y"], values["VELOCITY_Z"]], np.float32)
        ),
        health=float(values["HEALTH"]),
        armor=float(values["ARMOR"]),
        ammo=float(values["SELECTED_WEAPON_AMMO"]),
        weapon=int(values["SELECTED_WEAPON"]),
    )
