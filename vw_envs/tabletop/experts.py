"""Scripted experts: deterministic, state-based waypoint policies for all 20 tasks (the "oracle" row).

Each task's script is a list of stages. A stage maps the current state to a :class:`Waypoint` (so grasps
track where the block actually is), and the expert steers the end effector to it with saturated
proportional actions. A stage ends when the hand is within ``tol`` of its waypoint or after ``steps``
steps (so a door stop never stalls the script). Experts read only ``info["state"]``, never pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vw_envs.players import PlayerSpec
from vw_envs.tabletop.scene import BLOCK_HALF, BLOCKS, Layout
from vw_envs.tabletop.tasks import TASKS

# Must match the env's ControlConfig (actions are scaled by these).
MAX_DPOS, MAX_DROT = 0.02, 0.1
YAW0 = np.pi / 2  # fingers along x
LAYOUT = Layout()
TRAVEL_Z = 0.22


@dataclass(frozen=True)
class Waypoint:
    """Where the fingertip centre should go, the gripper yaw, and whether the gripper is open."""

    pos: tuple[float, float, float]
    yaw: float = YAW0
    open: bool = False
    tol: float = 0.008
    steps: int = 60
    speed: float = 1.0  # cap on |action| per axis: slow down for contacts so light doors don't bounce


Stage = Callable[[dict], Waypoint]


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)


def _at(pos, yaw: float = YAW0, open: bool = False, tol: float = 0.008, steps: int = 60,
        speed: float = 1.0) -> Stage:
    wp = Waypoint(tuple(float(v) for v in pos), yaw, open, tol, steps, speed)
    return lambda s: wp


def _wait(stage: Stage, steps: int, open: bool) -> Stage:
    """Hold ``stage``'s pose for ``steps`` steps with the gripper ``open`` (grasp/release time)."""

    def f(s: dict) -> Waypoint:
        w = stage(s)
        return Waypoint(w.pos, w.yaw, open, tol=-1.0, steps=steps, speed=w.speed)

    return f


# ----------------------------------------------------------------------------- scripts


def _push(s0: dict, colour: str, sign: float) -> list[Stage]:
    x, y, _ = s0[f"{colour}_block"][:3]
    start = x - sign * (BLOCK_HALF + 0.035)  # the closed fingers' 2.5 cm half-length plus a margin
    z = 0.016

    def push(s: dict) -> Waypoint:
        # Chase the block's centre: the fingers' 2 cm face would slip off a turning block if it went straight.
        bx, by, _ = s[f"{colour}_block"][:3]
        if sign * (bx - x) >= 0.135:
            ee = s["robot"][:3]
            return Waypoint((float(ee[0]), float(ee[1]), z), YAW0, False, tol=1.0, steps=1)
        return Waypoint((float(bx - sign * 0.01), float(by), z), YAW0, False, tol=-1.0, steps=70)

    return [
        _at((start, y, 0.10), tol=0.015),
        _at((start, y, z), steps=30),
        push,
        lambda s: Waypoint((float(s["robot"][0]), float(s["robot"][1]), 0.12), YAW0, False, 0.02, 30),
    ]


def _grasp_yaw(quat: np.ndarray) -> float:
    """The gripper yaw (nearest to YAW0) that closes the fingers on two opposite faces of a block."""
    block_yaw = float(np.arctan2(2 * (quat[3] * quat[2] + quat[0] * quat[1]), 1 - 2 * (quat[1] ** 2 + quat[2] ** 2)))
    k = np.round((YAW0 - block_yaw) / (np.pi / 2))
    return block_yaw + k * np.pi / 2


def _pick(s0: dict, colour: str, lift_z: float) -> list[Stage]:
    x, y, _ = s0[f"{colour}_block"][:3]
    yaw = _grasp_yaw(s0[f"{colour}_block"][3:])

    def over(z: float) -> Stage:
        # Re-read the block each step: it can shift a little when the fingers touch it.
        def f(s: dict) -> Waypoint:
            bx, by, _ = s[f"{colour}_block"][:3]
            return Waypoint((float(bx), float(by), z), yaw, True, 0.006, 50)
        return f

    down = over(0.016)
    return [
        _at((x, y, 0.12), yaw, open=True, tol=0.015),
        over(0.06),
        down,
        _wait(down, 10, open=False),
        _at((x, y, lift_z), yaw, open=False, tol=0.01, steps=60),
    ]


def _lift(s0: dict, colour: str) -> list[Stage]:
    stages = _pick(s0, colour, 0.14)
    return stages + [_wait(stages[-1], 30, open=False)]


def _stack(s0: dict) -> list[Stage]:
    # Pick the block in the middle row and put it on the one in the row nearest the robot: short moves.
    by_row = sorted(BLOCKS, key=lambda c: s0[f"{c}_block"][1])
    top, base = by_row[1], by_row[0]
    stages = _pick(s0, top, 0.14)
    bx, by, bz = s0[f"{base}_block"][:3]
    yaw = _grasp_yaw(s0[f"{base}_block"][3:])
    place_z = bz + 2 * BLOCK_HALF - 0.009 + 0.006  # held 9 mm above the fingertips; drop from 6 mm
    above = _at((bx, by, 0.14), yaw, tol=0.006, steps=60)
    place = _at((bx, by, place_z), yaw, tol=0.004, steps=40)
    return stages + [above, place, _wait(place, 12, open=True), _at((bx, by, 0.16), yaw, open=True, tol=0.02)]


def _drawer(s0: dict, opening: bool) -> list[Stage]:
    x, y0 = LAYOUT.drawer
    q = s0["drawer"]
    bar_y = y0 + 0.002 - 0.058 - q  # the handle bar's centre (see drawer.urdf)
    z = 0.07
    if opening:  # hook the fingertips behind the bar and pull
        fy = bar_y + 0.007 + 0.013
        goal = fy - (min(q + 0.15, 0.16) - q) - 0.01
    else:  # push the bar's front face
        fy = bar_y - 0.007 - 0.014
        goal = fy + q + 0.01
    return [
        _at((x, fy, 0.16), tol=0.015),
        _at((x, fy, z), tol=0.006, steps=40, speed=0.5),
        _at((x, goal, z), tol=0.008, steps=60),
        _at((x, goal, 0.16), tol=0.02),
    ]


def _slider(s0: dict, left: bool) -> list[Stage]:
    knob_x = LAYOUT.slider[0] + 0.11 - s0["slider"]
    y, z = LAYOUT.slider[1], 0.135
    sign = -1.0 if left else 1.0  # the door moves this way along x
    start = knob_x - sign * (0.012 + 0.026 + 0.006)
    end = start + sign * 0.175
    return [
        _at((start, y, TRAVEL_Z), tol=0.015),
        _at((start, y, z), tol=0.006, steps=40, speed=0.5),
        _at((end, y, z), tol=0.008, steps=60),
        _at((end, y, TRAVEL_Z), tol=0.02),
    ]


def _button(s0: dict) -> list[Stage]:
    x, y = LAYOUT.button
    yaw = 0.0  # the hand's long side along y, clear of the LED beside the button
    return [
        _at((x, y, 0.12), yaw, tol=0.012),
        _at((x, y, 0.038), yaw, tol=0.004, steps=25, speed=0.6),
        _at((x, y, 0.12), yaw, tol=0.02),
    ]


def _switch(s0: dict, on: bool) -> list[Stage]:
    x, y0 = LAYOUT.switch
    knob_y = y0 + s0["switch"]
    sign = 1.0 if on else -1.0  # on: push the knob away from the robot (+y)
    yaw = 0.0  # fingers along y: the hand's long side then stays clear of the lightbulb's head
    start = knob_y - sign * (0.012 + 0.026 + 0.006)
    end = start + sign * 0.075
    z = 0.042
    return [
        _at((x, start, 0.12), yaw, tol=0.012),
        _at((x, start, z), yaw, tol=0.005, steps=30, speed=0.5),
        _at((x, end, z), yaw, tol=0.008, steps=40),
        _at((x, end, 0.12), yaw, tol=0.02),
    ]


def _door(s0: dict, name: str) -> list[Stage]:
    """Sweep a fingertip along the door's arc from its open angle to closed."""
    hx, hy = LAYOUT.microwave if name == "microwave" else LAYOUT.fridge
    right_hinge = name == "microwave"  # the microwave's box lies to the hinge's -x, the fridge's to +x
    z = 0.094 if name == "microwave" else 0.254  # the hand clears the door top (1.2 cm lower)
    theta0 = s0[name]
    r, off = 0.09, 0.014 + 0.01 + 0.005  # contact radius from the hinge; door face + finger half-width

    def point(theta: float, extra: float) -> tuple[tuple[float, float, float], float]:
        if right_hinge:
            d = np.array([-np.cos(theta), -np.sin(theta)])
            n = np.array([np.sin(theta), -np.cos(theta)])
            yaw = theta + np.pi / 2
        else:
            d = np.array([np.cos(theta), -np.sin(theta)])
            n = np.array([-np.sin(theta), -np.cos(theta)])
            yaw = np.pi / 2 - theta
        p = np.array([hx, hy]) + r * d + (off + extra) * n
        return (float(p[0]), float(p[1]), z), float(yaw)

    pos, yaw = point(theta0, 0.05)
    stages = [_at((pos[0], pos[1], z + 0.12), yaw, tol=0.015), _at(pos, yaw, tol=0.006, steps=40, speed=0.5)]
    pos, yaw = point(theta0, 0.0)
    stages.append(_at(pos, yaw, tol=0.006, steps=20, speed=0.3))
    for theta in np.linspace(theta0 - 0.12, -0.02, int(np.ceil(theta0 / 0.12)) + 1):
        pos, yaw = point(float(theta), -0.003)
        stages.append(_at(pos, yaw, tol=0.012, steps=12, speed=0.6))
    pos, yaw = point(0.0, 0.06)
    stages.append(_at(pos, yaw, tol=0.02, steps=20))
    return stages


def plan(task: str, s0: dict) -> list[Stage]:
    """The stages of ``task``'s script from state ``s0``."""
    if task.startswith("push_"):
        _, colour, _, direction = task.split("_")
        return _push(s0, colour, -1.0 if direction == "left" else 1.0)
    if task.startswith("lift_"):
        return _lift(s0, task.split("_")[1])
    scripts: dict[str, Callable[[dict], list[Stage]]] = {
        "stack_block": _stack,
        "open_drawer": lambda s: _drawer(s, True),
        "close_drawer": lambda s: _drawer(s, False),
        "move_slider_left": lambda s: _slider(s, True),
        "move_slider_right": lambda s: _slider(s, False),
        "turn_on_led": _button,
        "turn_off_led": _button,
        "turn_on_lightbulb": lambda s: _switch(s, True),
        "turn_off_lightbulb": lambda s: _switch(s, False),
        "close_microwave": lambda s: _door(s, "microwave"),
        "close_fridge": lambda s: _door(s, "fridge"),
    }
    return scripts[task](s0)


# ----------------------------------------------------------------------------- the policy


class ExpertPolicy:
    """The ``expert`` policy spec: follows the active task's script, re-planning when the task changes.

    Use: ``action = policy.act(obs, info)`` with the ``info`` of the last ``reset``/``step`` (or of
    ``env.unwrapped.set_task``).
    """

    name = "expert"

    def __init__(self) -> None:
        self.reset()

    @classmethod
    def from_spec(cls, spec: PlayerSpec, env=None) -> ExpertPolicy:
        spec.check_keys(set())
        return cls()

    def reset(self, seed: int | None = None) -> None:
        self._task: str | None = None
        self._stages: list[Stage] = []
        self._i = 0
        self._n = 0
        self._open = True

    def act(self, obs, info: dict) -> np.ndarray:
        state, task = info["state"], info["task"]
        if task != self._task or self._stages is None:
            if task not in TASKS:
                raise ValueError(f"the expert has no script for task {task!r}")
            self._task, self._stages, self._i, self._n = task, plan(task, state), 0, 0
        robot = state["robot"]
        ee, yaw = robot[:3].astype(np.float64), float(robot[5])
        while self._i < len(self._stages):
            wp = self._stages[self._i](state)
            err = np.linalg.norm(np.asarray(wp.pos) - ee)
            if (err <= wp.tol and abs(_wrap(wp.yaw - yaw)) < 0.08) or self._n >= wp.steps:
                self._i, self._n = self._i + 1, 0
                continue
            break
        else:  # script finished: hold still
            return np.array([0, 0, 0, 0, 0, 0, 1.0 if self._open else -1.0], dtype=np.float32)
        self._n += 1
        self._open = wp.open
        action = np.zeros(7, dtype=np.float32)
        action[:3] = np.clip((np.asarray(wp.pos) - ee) / MAX_DPOS, -wp.speed, wp.speed)
        action[5] = np.clip(0.6 * _wrap(wp.yaw - yaw) / MAX_DROT, -1.0, 1.0)  # gentle: the wrist lags
        action[6] = 1.0 if wp.open else -1.0
        return action

    def close(self) -> None:
        pass
