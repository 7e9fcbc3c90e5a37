"""The success oracles against CALVIN's thresholds, on hand-made state dicts (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from vw_envs.tabletop.tasks import TASK_NAMES, TASKS


def _state(**over) -> dict:
    s = {"stacked": False, "drawer": 0.0, "slider": 0.0, "switch": 0.0, "button": 0.0, "microwave": 0.0,
         "fridge": 0.0, "led": 0, "lightbulb": 0, "robot": np.zeros(15, np.float32)}
    for i, c in enumerate(("red", "blue", "pink")):
        s[f"{c}_block"] = np.array([0.0, -0.32 + 0.08 * i, 0.025, 0, 0, 0, 1], np.float32)
        s[f"{c}_block_on_table"] = True
        s[f"{c}_block_grasped"] = False
        s[f"{c}_block_touched"] = False
    s.update(over)
    return s


def _moved(c: str, dx: float = 0.0, dz: float = 0.0, **flags) -> dict:
    s = _state(**flags)
    s[f"{c}_block"] = s[f"{c}_block"].copy()
    s[f"{c}_block"][0] += dx
    s[f"{c}_block"][2] += dz
    return s


def test_twenty_tasks_with_instructions():
    assert len(TASK_NAMES) == 20
    assert len({t.instruction for t in TASKS.values()}) == 20


@pytest.mark.parametrize("dx, ok", [(-0.09, False), (-0.11, True), (0.2, False)])
def test_push_left_needs_more_than_10cm_along_x(dx, ok):
    assert TASKS["push_red_block_left"].success(_state(), _moved("red", dx)) is ok
    assert TASKS["push_red_block_right"].success(_state(), _moved("red", -dx)) is ok


def test_push_must_end_on_the_table():
    end = _moved("blue", 0.15)
    end["blue_block_on_table"] = False
    assert not TASKS["push_blue_block_right"].success(_state(), end)


@pytest.mark.parametrize("q, ok", [(0.11, False), (0.125, True)])
def test_drawer_needs_12cm(q, ok):
    assert TASKS["open_drawer"].success(_state(drawer=0.0), _state(drawer=q)) is ok
    assert TASKS["close_drawer"].success(_state(drawer=0.16), _state(drawer=0.16 - q)) is ok


@pytest.mark.parametrize("q, ok", [(0.14, False), (0.155, True)])
def test_slider_needs_15cm(q, ok):
    assert TASKS["move_slider_left"].success(_state(slider=0.0), _state(slider=q)) is ok
    assert TASKS["move_slider_right"].success(_state(slider=0.2), _state(slider=0.2 - q)) is ok


def test_lights_flip():
    assert TASKS["turn_on_led"].success(_state(led=0), _state(led=1))
    assert not TASKS["turn_on_led"].success(_state(led=1), _state(led=1))
    assert TASKS["turn_off_lightbulb"].success(_state(lightbulb=1), _state(lightbulb=0))
    assert not TASKS["turn_off_lightbulb"].success(_state(lightbulb=0), _state(lightbulb=0))


def test_lift_needs_5cm_while_grasped():
    assert TASKS["lift_pink_block"].success(_state(), _moved("pink", dz=0.06, pink_block_grasped=True))
    assert not TASKS["lift_pink_block"].success(_state(), _moved("pink", dz=0.06))
    assert not TASKS["lift_pink_block"].success(_state(), _moved("pink", dz=0.04, pink_block_grasped=True))


def test_stack_and_doors():
    assert TASKS["stack_block"].success(_state(), _state(stacked=True))
    assert not TASKS["stack_block"].success(_state(stacked=True), _state(stacked=True))
    assert TASKS["close_microwave"].success(_state(microwave=1.2), _state(microwave=0.05))
    assert not TASKS["close_fridge"].success(_state(fridge=1.2), _state(fridge=0.4))
    assert not TASKS["close_fridge"].success(_state(fridge=0.0), _state(fridge=0.0))


def test_feasibility():
    s = _state(drawer=0.0, led=0, lightbulb=1, microwave=1.0)
    feasible = {n for n, t in TASKS.items() if t.feasible(s)}
    assert {"open_drawer", "turn_on_led", "turn_off_lightbulb", "close_microwave", "stack_block"} <= feasible
    assert not {"close_drawer", "turn_off_led", "turn_on_lightbulb", "close_fridge"} & feasible
    held = _moved("red", dz=0.1, red_block_on_table=False)
    held["red_block_on_table"] = False
    assert not TASKS["push_red_block_left"].feasible(held) and not TASKS["lift_red_block"].feasible(held)


def test_dense_progress_is_bounded():
    t = TASKS["open_drawer"]
    assert t.progress(_state(), _state(drawer=0.06)) == pytest.approx(0.5)
    assert t.progress(_state(), _state(drawer=0.5)) == 1.0
