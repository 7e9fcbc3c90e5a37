"""The table and its objects: a drawer, a sliding door, a button with an LED, a switch with a lightbulb,
three blocks, a microwave and a fridge with hinged doors.

World frame: the table top is z = 0, the robot stands at y = -0.62 facing +y, and +x is the robot's right.
"Left" and "right" in task names are the robot's (-x and +x). The static camera faces the robot from across
the table, so the robot's left appears on the right of the image.

Layout (top view, robot at the bottom)::

        microwave   slider (door + knob)   drawer cabinet   fridge
                   [ blocks in three rows ]
      LED  button                                  switch  lightbulb
                           Panda
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from vw_assets import ASSETS_DIR

if TYPE_CHECKING:  # tasks.py imports this module's constants, and must stay free of pybullet
    from vw_envs.tabletop.sim import Sim

BLOCKS = ("red", "blue", "pink")
BLOCK_HALF = 0.025
BLOCK_ROWS = (-0.32, -0.24, -0.16)  # one block per row, so pushing along x never sweeps another block
BLOCK_X = 0.12  # blocks start within |x| <= BLOCK_X
PUSH_LIMIT = 0.30  # the push area ends here (|x|), before the lamps and the doors
DRAWER_MAX, SLIDER_MAX, SWITCH_MAX, DOOR_MAX = 0.16, 0.22, 0.06, 1.5
SWITCH_ON = 0.03  # the lightbulb is on while the switch knob is past this
BUTTON_PRESS, BUTTON_RELEASE = 0.009, 0.004  # hysteresis, so one press toggles the LED exactly once
DOOR_CLOSED = 0.15  # rad: a hinged door counts as closed below this

LED_ON, LED_OFF = (0.1, 1.0, 0.2, 1.0), (0.15, 0.25, 0.15, 1.0)
BULB_ON, BULB_OFF = (1.0, 0.95, 0.3, 1.0), (0.35, 0.35, 0.3, 1.0)


@dataclass(frozen=True)
class Layout:
    """Where each object's base frame stands on the table (x, y); all objects face -y."""

    drawer: tuple[float, float] = (0.17, 0.10)
    slider: tuple[float, float] = (-0.17, 0.02)
    microwave: tuple[float, float] = (-0.38, -0.14)  # the hinge
    fridge: tuple[float, float] = (0.38, -0.14)  # the hinge
    button: tuple[float, float] = (-0.40, -0.45)
    led: tuple[float, float] = (-0.50, -0.38)
    switch: tuple[float, float] = (0.40, -0.48)
    lightbulb: tuple[float, float] = (0.52, -0.38)


@dataclass
class SceneConfig:
    """A full description of the movable scene: what :meth:`Scene.apply` puts in place."""

    blocks: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # colour -> (x, y, yaw)
    drawer: float = 0.0
    slider: float = 0.0
    switch: float = 0.0
    led: bool = False
    microwave: float = 0.0
    fridge: float = 0.0


def sample_config(rng: np.random.Generator) -> SceneConfig:
    """A random scene: blocks in shuffled rows, random drawer/slider, lights and doors."""
    rows = rng.permutation(len(BLOCK_ROWS))
    blocks = {
        c: (float(rng.uniform(-BLOCK_X, BLOCK_X)), BLOCK_ROWS[r] + float(rng.uniform(-0.005, 0.005)),
            float(rng.uniform(-0.3, 0.3)))
        for c, r in zip(BLOCKS, rows, strict=True)
    }
    return SceneConfig(
        blocks=blocks,
        drawer=float(rng.uniform(0.0, DRAWER_MAX)),
        slider=float(rng.uniform(0.0, SLIDER_MAX)),
        switch=float(rng.uniform(0.0, 0.01) if rng.random() < 0.5 else rng.uniform(0.05, SWITCH_MAX)),
        led=bool(rng.random() < 0.5),
        microwave=float(0.0 if rng.random() < 0.5 else rng.uniform(0.9, 1.35)),
        fridge=float(0.0 if rng.random() < 0.5 else rng.uniform(0.9, 1.35)),
    )


class Scene:
    """Loads the table and objects, applies a :class:`SceneConfig`, runs the light logic, reports state."""

    def __init__(self, sim: Sim, layout: Layout | None = None) -> None:
        self.sim, self.layout = sim, layout or Layout()
        d, lay = ASSETS_DIR / "tabletop", self.layout
        # Load order is draw order: small objects first, the big table last, so fewer pixels are shaded twice.
        for c in BLOCKS:
            sim.load_urdf(f"block_{c}", d / f"block_{c}.urdf", (0.0, -0.2, BLOCK_HALF), fixed=False)
        # Every articulated object is a static shell (drawn in the cached backdrop layer, see
        # Sim.load_backdrop) plus its moving part, a body on an empty base at the same origin.
        for name in ("drawer", "slider", "microwave", "fridge", "button", "switch"):
            pos = (*getattr(lay, name), 0.0)
            sim.load_urdf(name, d / f"{name}.urdf", pos)
            sim.load_backdrop(f"{name}_base", d / f"{name}_base.urdf", pos)
            sim.no_collision(name, f"{name}_base")  # they were one body: parts of it never collided
        for name, height in (("led", 0.03), ("lightbulb", 0.12)):
            sim.load_urdf(name, d / f"{name}.urdf", (*getattr(lay, name), height))
            sim.load_backdrop(f"{name}_base", d / f"{name}_base.urdf", (*getattr(lay, name), 0.0))
        sim.load_backdrop("table", d / "table.urdf")
        sim.load_backdrop("floor", d / "floor.urdf", (0.0, 0.0, -0.75))
        self.joints = {
            "drawer": ("drawer", sim.joint("drawer", "drawer_joint")),
            "slider": ("slider", sim.joint("slider", "slider_joint")),
            "switch": ("switch", sim.joint("switch", "switch_joint")),
            "button": ("button", sim.joint("button", "button_joint")),
            "microwave": ("microwave", sim.joint("microwave", "door_joint")),
            "fridge": ("fridge", sim.joint("fridge", "door_joint")),
        }
        self.led_on = False
        self.lightbulb_on = False
        self._button_down = False
        self._drawn_lights: tuple[bool, bool] | None = None

    def _q(self, name: str) -> float:
        body, j = self.joints[name]
        return self.sim.joint_position(body, j)

    def apply(self, cfg: SceneConfig) -> None:
        """Teleport every object to ``cfg`` (velocities zeroed) and set the passive joints' friction."""
        for c, (x, y, yaw) in cfg.blocks.items():
            self.sim.reset_base(f"block_{c}", np.array([x, y, BLOCK_HALF + 0.0005]), self.sim.quat((0, 0, yaw)))
        for name in ("drawer", "slider", "switch", "microwave", "fridge", "button"):
            body, j = self.joints[name]
            self.sim.reset_joint(body, j, getattr(cfg, name, 0.0))
        # Friction motors: strong enough that nothing drifts, weak enough for the arm to push through.
        for name, force in (("drawer", 3.0), ("slider", 3.0), ("switch", 2.0), ("microwave", 1.0),
                            ("fridge", 1.5)):
            self.sim.hold_joint(*self.joints[name], force)
        self.sim.spring_joint(*self.joints["button"], 0.0, 4.0)
        self.led_on = cfg.led
        self._button_down = False
        self.update()

    def update(self) -> None:
        """Run the light logic after physics: a button press toggles the LED; the switch drives the bulb."""
        depth = self._q("button")
        if not self._button_down and depth > BUTTON_PRESS:
            self._button_down = True
            self.led_on = not self.led_on
        elif self._button_down and depth < BUTTON_RELEASE:
            self._button_down = False
        self.lightbulb_on = self._q("switch") > SWITCH_ON
        lights = (self.led_on, self.lightbulb_on)
        if lights != self._drawn_lights:  # recolouring costs a renderer call; only do it on a change
            self.sim.set_color("led", -1, LED_ON if self.led_on else LED_OFF)
            self.sim.set_color("lightbulb", -1, BULB_ON if self.lightbulb_on else BULB_OFF)
            self._drawn_lights = lights

    # ------------------------------------------------------------------ state

    def block_pose(self, colour: str) -> tuple[np.ndarray, np.ndarray]:
        return self.sim.base_pose(f"block_{colour}")

    def state(self, finger_links: list[int]) -> dict:
        """The scene's state: object poses, joint positions, light states and contact facts.

        Args:
            finger_links: the robot's finger link indices (for "grasped").
        """
        out: dict = {}
        for c in BLOCKS:
            pos, quat = self.block_pose(c)
            body = f"block_{c}"
            out[f"{c}_block"] = np.concatenate([pos, quat]).astype(np.float32)
            out[f"{c}_block_on_table"] = bool(pos[2] < BLOCK_HALF + 0.01 and self.sim.in_contact(body, "table"))
            touching = [self.sim.in_contact("panda", body, link) for link in finger_links]
            out[f"{c}_block_grasped"] = bool(all(touching))
            out[f"{c}_block_touched"] = bool(any(touching) or self.sim.in_contact("panda", body))
        # A block rests on another: touching it, clearly higher, off the table and let go of.
        stacked = False
        for a in BLOCKS:
            for b in BLOCKS:
                if a != b and out[f"{a}_block"][2] > out[f"{b}_block"][2] + 0.04 \
                        and self.sim.in_contact(f"block_{a}", f"block_{b}") \
                        and not out[f"{a}_block_on_table"] and not out[f"{a}_block_touched"]:
                    stacked = True
        out["stacked"] = stacked
        for name in ("drawer", "slider", "switch", "button", "microwave", "fridge"):
            out[name] = float(self._q(name))
        out["led"] = int(self.led_on)
        out["lightbulb"] = int(self.lightbulb_on)
        return out
