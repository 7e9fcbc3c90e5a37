"""A window in which a person picks tasks and watches a tabletop policy do them, one after another in one scene.

``vw-agent play --env VideoTabletop-MultiTask-v0 --render human --policy videoworld:RUN`` opens it. The left
of the window is the static camera, what the policy sees; beside it, for a policy that imagines (the
VideoWorld agent's ``last_imagination``), the frame it imagined for this step; on the right, the tasks.

Keys:
    type        filter the tasks (``led`` finds turn_on_led, turn_off_led); a space matches ``_``
    up / down   move the selection among the tasks shown
    Enter       start the selected task (a click on a task does too)
    Esc         stop the running task; with none running, clear the filter
    F5          a new scene (the next seed)
    close       quit (also Ctrl-C in the terminal)

A task that is not feasible in the scene as it stands (``turn_on_led`` with the LED already on) is greyed and
refused with the reason; the next task starts from wherever the last one left the scene, as CALVIN's chains do.
Each task has ``steps_per_task`` steps (CALVIN: 360).

The window does one env step per frame on the UI thread: with action chunks the VideoWorld agent imagines
once per few steps, so the window stays responsive. pygame is imported lazily (:func:`import_pygame`).
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

from vw_envs.tabletop.policies import make_policy
from vw_envs.tabletop.registration import MULTITASK_ID
from vw_envs.tabletop.rollout import seen_frame
from vw_envs.tabletop.tasks import TASK_NAMES, TASKS
from vw_envs.viewer import import_pygame

BG, PANEL_TEXT, DIM = (32, 32, 36), (230, 230, 230), (110, 110, 115)
SELECT, OK, BAD = (60, 90, 150), (90, 200, 110), (230, 110, 90)
PANEL_WIDTH = 300


class TaskWindow:
    """The env, the policy and the window. :meth:`open`, then :meth:`run` (or :meth:`tick` in a loop).

    Args:
        policy: a tabletop policy spec (``expert``, ``videoworld:RUN``, ``bc:RUN``, ...).
        seed: the first scene's reset seed; F5 moves to the next.
        frame_size: the env's frame side (the policy's own, for a trained run).
        steps_per_task: each task's budget.
        scale: window pixels per frame pixel.
        task: start this task at once (if feasible).
    """

    def __init__(self, policy: str = "expert", *, seed: int = 0, frame_size: int = 128, steps_per_task: int = 360,
                 scale: int | None = None, task: str | None = None):
        self.env = gym.make(MULTITASK_ID, frame_size=frame_size, terminate_on_success=False,
                            max_episode_steps=1_000_000)  # a person's session: tasks end by success or budget
        self.policy = make_policy(policy, self.env)
        self.policy_name = policy
        self.columns = 2 if hasattr(self.policy, "last_imagination") else 1  # the imagination beside the frame
        self.seed, self.steps_per_task = seed, steps_per_task
        self.scale = scale or max(1, 320 // frame_size)
        self.query, self.selected = "", 0
        self.running: str | None = None  # the task being done
        self.steps = 0
        self.status = ""
        self.results: list[dict[str, Any]] = []  # one per finished task: task, success, steps, seed
        self.closed = False
        self._pg = self._screen = self._clock = None
        self._fonts: dict[str, Any] = {}
        self._rows: list[tuple[Any, str]] = []  # (rect, task) of the listed tasks, for clicks
        self._first_task = task
        self.obs, self.info = None, None

    # ------------------------------------------------------------------ life cycle

    def open(self) -> TaskWindow:
        pg = self._pg = import_pygame()
        pg.display.init()
        if pg.display.get_driver() in ("offscreen", "dummy") and not os.environ.get("SDL_VIDEODRIVER"):
            pg.display.quit()  # an invisible window: a person would wait forever
            raise pg.error("no display: SDL found no screen (set DISPLAY, or run under Xvfb)")
        pg.font.init()
        self._fonts = {"text": pg.font.Font(None, 24), "small": pg.font.Font(None, 20)}
        side = self.env.unwrapped.frame_size * self.scale
        self._screen = pg.display.set_mode((self.columns * side + PANEL_WIDTH, max(side, 480)))
        pg.display.set_caption(f"VideoWorld Gym: {self.policy_name}")
        self._clock = pg.time.Clock()
        self.new_scene(self.seed)
        if self._first_task:
            self.start(self._first_task)
        return self

    def run(self, fps: int = 30, max_tasks: int | None = None) -> list[dict[str, Any]]:
        """Until the window is closed (or ``max_tasks`` tasks have finished); returns :attr:`results`."""
        if self._screen is None:
            self.open()
        try:
            while self.tick() and (max_tasks is None or len(self.results) < max_tasks):
                self._clock.tick(fps)
        except KeyboardInterrupt:
            self.closed = True
        return self.results

    def tick(self) -> bool:
        """One frame: handle queued events, one env step if a task runs, redraw. False once closed."""
        if self.closed:
            return False
        for event in self._pg.event.get():
            self.handle(event)
            if self.closed:
                return False
        if self.running:
            self.step()
        self.draw()
        return True

    def close(self) -> None:
        """Close the window, the policy and the env; safe to call twice."""
        if self._screen is not None:
            self._pg.display.quit()
            self._screen = None
        if self.policy is not None:
            self.policy.close()
            self.policy = None
        self.env.close()
        self.closed = True

    # ------------------------------------------------------------------ the scene and the tasks

    def new_scene(self, seed: int) -> None:
        self.seed, self.running = seed, None
        self.obs, self.info = self.env.reset(seed=seed)
        self.policy.reset(seed)
        self.status = f"scene {seed}: pick a task"

    def matches(self, feasible: set[str] | None = None) -> list[str]:
        """The tasks the filter shows, feasible ones first (in the task table's order); ``feasible``: the scene's
        feasible tasks, if the caller has them."""
        q = self.query.strip().lower().replace(" ", "_")
        shown = [t for t in TASK_NAMES if q in t or q in TASKS[t].instruction.lower()]
        if feasible is None:
            feasible = set(self.env.unwrapped.feasible_tasks())
        return [t for t in shown if t in feasible] + [t for t in shown if t not in feasible]

    def start(self, task: str) -> bool:
        """Start ``task`` from the scene as it stands; False (and the reason in :attr:`status`) if it cannot."""
        if task not in TASKS:
            self.status = f"unknown task {task!r}"
            return False
        if task not in self.env.unwrapped.feasible_tasks():
            self.status = f"{task} is not feasible in this scene (F5: a new scene)"
            return False
        self.info = self.env.unwrapped.set_task(task)
        self.running, self.steps = task, 0
        self.status = f"{task}: {TASKS[task].instruction}"
        return True

    def step(self) -> None:
        action = self.policy.act(self.obs, self.info)
        self.obs, _, _, truncated, self.info = self.env.step(action)
        self.steps += 1
        if self.info["is_success"] or self.steps >= self.steps_per_task or truncated:
            self.finish(bool(self.info["is_success"]))

    def finish(self, success: bool, why: str = "") -> None:
        task = self.running
        self.results.append({"task": task, "success": success, "steps": self.steps, "seed": self.seed})
        self.running = None
        self.status = f"{task}: {'success' if success else 'failure'} in {self.steps} steps{why}; pick the next task"

    # ------------------------------------------------------------------ input

    def handle(self, event: Any) -> None:
        pg = self._pg
        if event.type == pg.QUIT:
            self.closed = True
        elif event.type == pg.MOUSEBUTTONDOWN and event.button == 1 and not self.running:
            for rect, task in self._rows:
                if rect.collidepoint(event.pos):
                    self.start(task)
        elif event.type == pg.KEYDOWN:
            self.key(event.key, getattr(event, "unicode", ""))

    def key(self, key: int, text: str = "") -> None:
        pg = self._pg
        if key == pg.K_ESCAPE:
            if self.running:
                self.finish(False, " (stopped)")
            else:
                self.query, self.selected = "", 0
        elif key == pg.K_F5:
            self.new_scene(self.seed + 1)
        elif self.running:
            return  # typing waits for the running task
        elif key in (pg.K_RETURN, pg.K_KP_ENTER):
            shown = self.matches()
            if shown:
                self.start(shown[min(self.selected, len(shown) - 1)])
        elif key == pg.K_UP:
            self.selected = max(0, self.selected - 1)
        elif key == pg.K_DOWN:
            self.selected = min(len(self.matches()) - 1, self.selected + 1)
        elif key == pg.K_BACKSPACE:
            self.query, self.selected = self.query[:-1], 0
        elif text and text.isprintable():
            self.query, self.selected = self.query + text, 0

    # ------------------------------------------------------------------ drawing

    def draw(self) -> None:
        pg, screen = self._pg, self._screen
        screen.fill(BG)
        seen = seen_frame(self.obs, self.policy, imagined=self.running is not None)
        big = np.kron(seen, np.ones((self.scale, self.scale, 1), dtype=np.uint8))
        screen.blit(pg.surfarray.make_surface(np.ascontiguousarray(big.transpose(1, 0, 2))), (0, 0))
        side = self.env.unwrapped.frame_size * self.scale
        y = side + 6
        if seen.shape[1] > self.env.unwrapped.frame_size:
            self._text("what the agent sees", 6, y, "small", DIM)
            self._text("what it imagined for this step", side + 6, y, "small", DIM)
        x, y = self.columns * side + 12, 10
        y = self._text(f"task filter: {self.query}_", x, y)
        feasible = set(self.env.unwrapped.feasible_tasks())
        self._rows = []
        for i, task in enumerate(self.matches(feasible)):
            color = PANEL_TEXT if task in feasible else DIM
            rect = pg.Rect(x - 4, y - 1, PANEL_WIDTH - 16, self._fonts["small"].get_linesize() + 2)
            if i == self.selected and not self.running:
                pg.draw.rect(screen, SELECT, rect)
            if task == self.running:
                color = OK
            self._rows.append((rect, task))
            y = self._text(task, x, y, "small", color)
        y += 8
        if self.running:
            y = self._text(f"step {self.steps}/{self.steps_per_task}", x, y)
        last = self.results[-1] if self.results else None
        color = PANEL_TEXT if not last or self.running else (OK if last["success"] else BAD)
        self._wrapped(self.status, x, y, color)
        done = sum(r["success"] for r in self.results)
        self._text(f"{done}/{len(self.results)} tasks done; F5 new scene, Esc stop", x,
                   screen.get_height() - 24, "small", DIM)
        pg.display.flip()

    def _text(self, text: str, x: int, y: int, font: str = "text", color=PANEL_TEXT) -> int:
        f = self._fonts[font]
        self._screen.blit(f.render(text, True, color), (x, y))
        return y + f.get_linesize() + 2

    def _wrapped(self, text: str, x: int, y: int, color=PANEL_TEXT) -> int:
        f, width, line = self._fonts["small"], PANEL_WIDTH - 16, ""
        for word in text.split():
            trial = f"{line} {word}".strip()
            if f.size(trial)[0] > width and line:
                y, line = self._text(line, x, y, "small", color), word
            else:
                line = trial
        return self._text(line, x, y, "small", color) if line else y

    def save_screenshot(self, path: str) -> None:
        """Write the window's current picture to ``path`` (PNG)."""
        self.draw()
        self._pg.image.save(self._screen, str(path))
