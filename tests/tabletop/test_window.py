"""The task window: a person types or clicks a task and watches a policy do it (real pygame events, SDL's dummy
driver; one screenshot under Xvfb)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.conftest import needs_xvfb
from vw_envs.tabletop.window import TaskWindow

pygame = pytest.importorskip("pygame")


@pytest.fixture
def window(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    made = []

    def make(policy="expert", **kw) -> TaskWindow:
        w = TaskWindow(policy, frame_size=64, **kw).open()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def press(w: TaskWindow, key: int, text: str = "") -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=text, scancode=0))
    w.tick()


def type_text(w: TaskWindow, text: str) -> None:
    for ch in text:
        press(w, pygame.key.key_code(ch) if ch != " " else pygame.K_SPACE, ch)


def test_typed_task_is_done_then_refused_when_no_longer_feasible(window):
    w = window(seed=10000)  # a scene whose LED is off
    type_text(w, "on led")
    assert w.query == "on led" and w.matches()[0] == "turn_on_led"
    press(w, pygame.K_RETURN)
    assert w.running == "turn_on_led"
    results = w.run(fps=0, max_tasks=1)
    assert results == [{"task": "turn_on_led", "success": True, "steps": results[0]["steps"], "seed": 10000}]
    assert 10 < results[0]["steps"] < 360 and w.running is None
    # the LED is on now: the same task is greyed and refused, with the reason
    assert "turn_on_led" not in w.env.unwrapped.feasible_tasks()
    press(w, pygame.K_RETURN)
    assert w.running is None and w.status == "turn_on_led is not feasible in this scene (F5: a new scene)"
    press(w, pygame.K_ESCAPE)  # clears the filter
    assert w.query == "" and len(w.matches()) == 20
    press(w, pygame.K_F5)
    assert w.seed == 10001 and w.status == "scene 10001: pick a task"


def test_click_starts_a_task_and_esc_stops_it(window):
    w = window(seed=10001, steps_per_task=50)
    w.tick()
    rect, task = next((r, t) for r, t in w._rows if t == "move_slider_left")
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=rect.center, button=1))
    w.tick()
    assert w.running == "move_slider_left" and w.steps == 1
    for _ in range(3):
        w.tick()
    press(w, pygame.K_ESCAPE)  # handled before that tick's step: 1 + 3 steps ran
    assert w.results == [{"task": "move_slider_left", "success": False, "steps": 4, "seed": 10001}]
    assert "(stopped)" in w.status


def test_a_task_given_up_front_runs_to_its_budget(window):
    w = window(policy="noop", seed=10001, steps_per_task=7, task="move_slider_left")
    assert w.run(fps=0, max_tasks=1) == [{"task": "move_slider_left", "success": False, "steps": 7, "seed": 10001}]


XVFB_SCRIPT = textwrap.dedent("""
    import sys
    import time
    import pygame
    from PIL import ImageGrab
    from vw_envs.tabletop.window import TaskWindow
    w = TaskWindow("expert", seed=10003, frame_size=64, task="open_drawer").open()
    w.run(fps=0, max_tasks=1)
    for ch in "led":
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.key.key_code(ch), mod=0, unicode=ch,
                                             scancode=0))
    for _ in range(10):  # let the X server show the frame, then grab what it shows, not pygame's buffer
        w.tick()
        time.sleep(0.05)
    ImageGrab.grab(xdisplay=sys.argv[1]).save(sys.argv[2])
    print(pygame.display.get_driver(), w.results[0]["success"], w._screen.get_size())
    w.close()
""")


@needs_xvfb
def test_real_window_under_xvfb(tmp_path, xvfb_env):
    shot = tmp_path / "screen.png"
    out = subprocess.run([sys.executable, "-c", XVFB_SCRIPT, xvfb_env["DISPLAY"], str(shot)], env=xvfb_env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["x11", "True"]
    assert out.stdout.split()[2:] == ["(620,", "480)"]  # the expert imagines nothing: no second column
    from PIL import Image

    screen = np.asarray(Image.open(shot).convert("RGB")).astype(int)[:480, :620]  # the window, at the top left
    scene = screen[:320, :320]
    assert scene.std() > 20  # the rendered table, not a blank surface
    assert (np.abs(screen[:, 330:] - [60, 90, 150]).sum(-1) < 10).sum() > 500  # the selected task's bar
