"""The 20 tasks: instruction, reset recipe (what makes the task feasible), precondition and success oracle.

Success is judged the way CALVIN judges it: from the scene state when the task started (``s0``) and now
(``s``), with CALVIN's thresholds (push > 0.1 m along x touching the table at both ends; drawer >= 0.12 m;
slider >= 0.15 m; lift >= 0.05 m while grasped; lights flip 0 -> 1 or 1 -> 0). The two RLBench-style door
tasks count as done when a door that started open is now closed.

This module is pure numpy over state dicts (see :meth:`Scene.state`), so it needs no simulator to test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vw_envs.tabletop.scene import (
    BLOCK_X,
    BLOCKS,
    DOOR_CLOSED,
    DRAWER_MAX,
    PUSH_LIMIT,
    SLIDER_MAX,
    SWITCH_MAX,
    SceneConfig,
)

# Scene seeds: recordings (training data) use seeds below this, and evaluation starts here, so no evaluated scene
# was trained on (vw-agent record refuses more; vw-agent eval tabletop starts here by default).
EVAL_SEED_START = 10_000

PUSH_DIST, DRAWER_DIST, SLIDER_DIST, LIFT_DIST = 0.1, 0.12, 0.15, 0.05
PUSH_ROOM = 0.15  # the expert pushes this far, so a push is feasible only with this much room
State = dict


@dataclass(frozen=True)
class Task:
    """One task of the table.

    Attributes:
        name: snake_case task name (``push_red_block_left``).
        instruction: a short English sentence for language-conditioned agents.
        max_steps: the registered ``max_episode_steps`` (30 Hz control steps).
        prepare: mutates a random :class:`SceneConfig` so the task is feasible from it.
        feasible: the precondition, over a state dict.
        success: the oracle, over the state dicts at the task's start and now.
        progress: the dense reward's shaping term in [0, 1] (how far along the task is); defaults to the
            success indicator for tasks with no natural measure (lights, stacking).
    """

    name: str
    instruction: str
    max_steps: int
    prepare: Callable[[SceneConfig, np.random.Generator], None]
    feasible: Callable[[State], bool]
    success: Callable[[State, State], bool]
    progress: Callable[[State, State], float] | None = None

    @property
    def camel(self) -> str:
        return "".join(w.capitalize() for w in self.name.split("_"))


# ----------------------------------------------------------------------------- helpers


def _block_x(s: State, c: str) -> float:
    return float(s[f"{c}_block"][0])


def _block_z(s: State, c: str) -> float:
    return float(s[f"{c}_block"][2])


def _free_block(s: State, c: str) -> bool:
    """On the table, inside the block area (not dropped elsewhere), with nothing stacked on it."""
    pos = s[f"{c}_block"]
    if not s[f"{c}_block_on_table"] or not -0.36 < pos[1] < -0.12 or abs(pos[0]) > PUSH_LIMIT:
        return False
    for o in BLOCKS:
        other = s[f"{o}_block"]
        if o != c and np.linalg.norm(other[:2] - pos[:2]) < 0.045:  # something rests on it
            return False
    return True


def _side_clear(s: State, c: str, side: float) -> bool:
    """No other block where the gripper goes down, on ``side`` (+1: +x) of block ``c``."""
    pos = s[f"{c}_block"]
    for o in BLOCKS:
        other = s[f"{o}_block"]
        if o != c and abs(other[1] - pos[1]) < 0.06 and 0.0 < side * (other[0] - pos[0]) < 0.11:
            return False
    return True


def _no_prep(cfg: SceneConfig, rng: np.random.Generator) -> None:
    pass


# ----------------------------------------------------------------------------- task families


def _push(c: str, direction: str) -> Task:
    sign = -1.0 if direction == "left" else 1.0  # the robot's left is -x

    def feasible(s: State) -> bool:
        x = _block_x(s, c)
        return _free_block(s, c) and abs(x + sign * PUSH_ROOM) <= PUSH_LIMIT - 0.02 and _side_clear(s, c, -sign)

    def success(s0: State, s: State) -> bool:
        moved = sign * (_block_x(s, c) - _block_x(s0, c))
        return bool(moved > PUSH_DIST and s0[f"{c}_block_on_table"] and s[f"{c}_block_on_table"])

    def progress(s0: State, s: State) -> float:
        return float(np.clip(sign * (_block_x(s, c) - _block_x(s0, c)) / PUSH_DIST, 0.0, 1.0))

    return Task(f"push_{c}_block_{direction}", f"push the {c} block to the {direction}", 120, _no_prep,
                feasible, success, progress)


def _lift(c: str) -> Task:
    def success(s0: State, s: State) -> bool:
        return bool(_block_z(s, c) - _block_z(s0, c) >= LIFT_DIST and s[f"{c}_block_grasped"])

    def progress(s0: State, s: State) -> float:
        return float(np.clip((_block_z(s, c) - _block_z(s0, c)) / LIFT_DIST, 0.0, 1.0))

    return Task(f"lift_{c}_block", f"lift the {c} block", 120, _no_prep, lambda s: _free_block(s, c), success,
                progress)


def _stack_feasible(s: State) -> bool:
    return not s["stacked"] and sum(_free_block(s, c) for c in BLOCKS) >= 2


def _stack_success(s0: State, s: State) -> bool:
    return bool(s["stacked"] and not s0["stacked"])


def _set(attr: str, lo: float, hi: float) -> Callable[[SceneConfig, np.random.Generator], None]:
    def prepare(cfg: SceneConfig, rng: np.random.Generator) -> None:
        setattr(cfg, attr, float(rng.uniform(lo, hi)))

    return prepare


def _set_flag(attr: str, value: bool) -> Callable[[SceneConfig, np.random.Generator], None]:
    def prepare(cfg: SceneConfig, rng: np.random.Generator) -> None:
        setattr(cfg, attr, value)

    return prepare


def _moved(key: str, sign: float, dist: float) -> Callable[[State, State], bool]:
    return lambda s0, s: bool(sign * (s[key] - s0[key]) >= dist)


def _frac(key: str, sign: float, dist: float) -> Callable[[State, State], float]:
    return lambda s0, s: float(np.clip(sign * (s[key] - s0[key]) / dist, 0.0, 1.0))


def _door_frac(key: str) -> Callable[[State, State], float]:
    return lambda s0, s: float(np.clip((s0[key] - s[key]) / max(s0[key] - DOOR_CLOSED, 1e-3), 0.0, 1.0))


def _flipped(key: str, before: int) -> Callable[[State, State], bool]:
    return lambda s0, s: bool(s0[key] == before and s[key] == 1 - before)


def _door_closed(key: str) -> Callable[[State, State], bool]:
    return lambda s0, s: bool(s0[key] > 0.5 and s[key] < DOOR_CLOSED)


def _travel(name: str, instruction: str, key: str, sign: int, dist: float, start: tuple[float, float],
            q_max: float) -> Task:
    """A prismatic joint moved ``dist`` or more in direction ``sign`` (drawer, sliding door)."""
    if sign > 0:
        feasible = lambda s: s[key] <= q_max - dist - 0.005  # noqa: E731
    else:
        feasible = lambda s: s[key] >= dist + 0.005  # noqa: E731
    return Task(name, instruction, 150, _set(key, *start), feasible, _moved(key, sign, dist), _frac(key, sign, dist))


def _build() -> dict[str, Task]:
    tasks: list[Task] = []
    for c in BLOCKS:
        for d in ("left", "right"):
            tasks.append(_push(c, d))
    tasks += [
        _travel("open_drawer", "open the drawer", "drawer", +1, DRAWER_DIST, (0.0, 0.02), DRAWER_MAX),
        _travel("close_drawer", "close the drawer", "drawer", -1, DRAWER_DIST, (0.14, DRAWER_MAX), DRAWER_MAX),
        # The sliding door's joint grows as it moves to -x (the robot's left).
        _travel("move_slider_left", "move the sliding door to the left", "slider", +1, SLIDER_DIST, (0.0, 0.05),
                SLIDER_MAX),
        _travel("move_slider_right", "move the sliding door to the right", "slider", -1, SLIDER_DIST,
                (0.17, SLIDER_MAX), SLIDER_MAX),
        Task("turn_on_led", "press the button to turn on the led", 120, _set_flag("led", False),
             lambda s: s["led"] == 0, _flipped("led", 0)),
        Task("turn_off_led", "press the button to turn off the led", 120, _set_flag("led", True),
             lambda s: s["led"] == 1, _flipped("led", 1)),
        Task("turn_on_lightbulb", "push the switch to turn on the light bulb", 120, _set("switch", 0.0, 0.01),
             lambda s: s["lightbulb"] == 0, _flipped("lightbulb", 0)),
        Task("turn_off_lightbulb", "pull the switch to turn off the light bulb", 120,
             _set("switch", SWITCH_MAX - 0.01, SWITCH_MAX), lambda s: s["lightbulb"] == 1, _flipped("lightbulb", 1)),
    ]
    tasks += [_lift(c) for c in BLOCKS]
    tasks.append(Task("stack_block", "stack the blocks on top of each other", 200, _no_prep, _stack_feasible,
                      _stack_success))
    tasks += [
        Task("close_microwave", "close the microwave", 150, _set("microwave", 0.9, 1.35),
             lambda s: s["microwave"] > 0.5, _door_closed("microwave"), _door_frac("microwave")),
        Task("close_fridge", "close the fridge door", 150, _set("fridge", 0.9, 1.35),
             lambda s: s["fridge"] > 0.5, _door_closed("fridge"), _door_frac("fridge")),
    ]
    return {t.name: t for t in tasks}


TASKS: dict[str, Task] = _build()
TASK_NAMES: tuple[str, ...] = tuple(TASKS)
assert len(TASKS) == 20 and BLOCK_X + PUSH_ROOM <= PUSH_LIMIT - 0.02
