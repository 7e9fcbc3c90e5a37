"""VideoTabletopEnv: a CALVIN-like Franka tabletop seen only through cameras. Every id is one parametrisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from vw_envs.tabletop.robot import Panda, RobotConfig
from vw_envs.tabletop.scene import Scene, sample_config
from vw_envs.tabletop.sim import Camera, Sim
from vw_envs.tabletop.tasks import TASK_NAMES, TASKS, Task

# The static camera faces the robot from across the table, high enough to see over the cabinets.
STATIC_CAMERA = Camera(eye=(0.0, 0.35, 1.15), target=(0.0, -0.25, 0.05), fov=54.0)
HOME = np.array([0.0, -0.35, 0.25])  # end-effector start, above the blocks
HOME_YAW = np.pi / 2  # fingers open and close along x


@dataclass(frozen=True)
class ControlConfig:
    """How a 7-D action in [-1, 1] becomes motion (CALVIN-style relative end-effector control)."""

    control_hz: int = 30
    substeps: int = 8  # 240 Hz physics, a fixed number of substeps per action
    max_dpos: float = 0.02  # m per step at |a| = 1 (0.6 m/s)
    max_drot: float = 0.1  # rad per step at |a| = 1
    max_tilt: float = 0.6  # rad: roll/pitch away from pointing down are clipped here
    max_lead: float = 0.04  # m: the pose target never runs further than this ahead of the hand
    max_lead_rot: float = 0.15  # rad: nor the yaw target further than this
    workspace_low: tuple[float, float, float] = (-0.62, -0.56, 0.005)
    workspace_high: tuple[float, float, float] = (0.62, 0.30, 0.45)


class VideoTabletopEnv(gym.Env[Any, np.ndarray]):
    """A Franka Panda at a table with CALVIN's interactive objects, observed only through cameras.

    ## Description
    A CALVIN-like scene built from primitives: a drawer, a sliding door, a button that toggles an LED, a
    switch that turns on a lightbulb, red/blue/pink blocks, plus an RLBench-style microwave and fridge with
    hinged doors. One of 20 tasks is active at a time (``push_red_block_left``, ``open_drawer``, ...; see
    ``vw_envs.tabletop.tasks``). ``VideoTabletop-MultiTask-v0`` takes the task as a reset option and can
    switch it mid-episode with :meth:`set_task`, for CALVIN's chains of subtasks.

    ## Action Space
    ``Box(-1, 1, (7,), float32)``: end-effector position delta (x, y, z; 2 cm per step at 1), orientation
    delta (roll, pitch, yaw; 0.1 rad per step at 1) and the gripper (>= 0 opens, < 0 closes). IK runs
    inside; each action lasts 1/30 s (8 physics substeps). An action with NaN/inf or of the wrong shape
    raises ``ValueError``.

    ## Observation Space
    The static camera's RGB frame, ``Box(0, 255, (frame_size, frame_size, 3), uint8)``. With
    ``gripper_camera=True`` a ``Dict`` of ``{"static": ..., "gripper": Box(.., (gripper_frame_size, ..., 3))}``.
    The simulator state is never observed; it is in ``info["state"]`` for recorders and oracles.

    ## Rewards
    ``reward_type="sparse"`` (default): 1.0 on the step the task succeeds, else 0.0. ``"dense"``: the task's
    progress in [0, 1] (for example the fraction of the drawer's 12 cm travelled), 1.0 at success.

    ## Starting State
    Per seed: block positions (one per row, random x and yaw), drawer and sliding door positions, switch,
    LED and door states are random; then the task's reset recipe makes it feasible (``close_drawer`` starts
    with the drawer open). The gripper starts open at a fixed point above the blocks, pointing down.

    ## Episode End
    Terminates when the task succeeds (``terminate_on_success``). Truncation comes from
    ``max_episode_steps`` in the registration (per task).

    ## Arguments
    ``gym.make("VideoTabletop-OpenDrawer-v0", frame_size=128, gripper_camera=False, gripper_frame_size=84,
    reward_type="sparse", render_mode=None, robot_visuals="lowpoly", shadows=False)``

    - ``task``: a task name, or ``None`` for the multi-task env (``options={"task": name}`` at reset, or a
      random task per seed).
    - ``frame_size``: side of the square static frame (CALVIN's static camera is 200).
    - ``gripper_camera``: add the wrist camera (CALVIN's is 84) and return a Dict observation.
    - ``robot_visuals``: ``"lowpoly"`` (the Panda's collision meshes, simplified to ~1.2k triangles) or
      ``"stock"`` (pybullet_data's visual meshes, ~101.7k triangles, several times slower; for the
      benchmark). The kinematics and collision shapes are the same either way.
    - ``shadows``: TinyRenderer shadows (slower: it also turns off the cached table/floor layer).
    - ``terminate_on_success``: end the episode at success (``True``), or keep going.

    ``info`` always holds ``task``, ``instruction``, ``is_success`` and ``state``.

    ## Version History
    - v0: initial release.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 30}

    def __init__(
        self,
        task: str | None = None,
        frame_size: int = 128,
        gripper_camera: bool = False,
        gripper_frame_size: int = 84,
        reward_type: str = "sparse",
        render_mode: str | None = None,
        robot_visuals: str = "lowpoly",
        shadows: bool = False,
        terminate_on_success: bool = True,
        control: ControlConfig | None = None,
    ) -> None:
        if task is not None and task not in TASKS:
            raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASK_NAMES)}")
        if reward_type not in ("sparse", "dense"):
            raise ValueError(f"reward_type must be 'sparse' or 'dense', got {reward_type!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if not (16 <= frame_size <= 512 and 16 <= gripper_frame_size <= 512):  # 512: as Go; 100,000 asked 224 GiB
            raise ValueError(f"frame sizes must be 16..512 px, got {frame_size} and {gripper_frame_size}")
        self.fixed_task = task
        self.frame_size, self.gripper_frame_size = int(frame_size), int(gripper_frame_size)
        self.gripper_camera = gripper_camera
        self.reward_type, self.render_mode = reward_type, render_mode
        self.terminate_on_success = terminate_on_success
        self.control = control or ControlConfig()

        frame = spaces.Box(0, 255, (self.frame_size, self.frame_size, 3), np.uint8)
        if gripper_camera:
            wrist = spaces.Box(0, 255, (self.gripper_frame_size, self.gripper_frame_size, 3), np.uint8)
            self.observation_space = spaces.Dict({"static": frame, "gripper": wrist})
        else:
            self.observation_space = frame
        self.action_space = spaces.Box(-1.0, 1.0, (7,), np.float32)

        self.sim = Sim(timestep=1.0 / (self.control.control_hz * self.control.substeps), shadows=shadows)
        self.robot = Panda(self.sim, RobotConfig(visuals=robot_visuals))
        self.scene = Scene(self.sim)
        self.task: Task = TASKS[task or TASK_NAMES[0]]
        # Every reset starts from this snapshot: without it, contacts warm-started by the previous
        # episode make a reused env diverge (by a few pixels) from a fresh one on the same seed.
        self._pristine = self.sim.save_state()
        self._start_state: dict | None = None
        self._state: dict | None = None
        self._frame: np.ndarray | None = None
        self._target_pos = HOME.copy()
        self._target_rpy = np.array([0.0, 0.0, HOME_YAW])  # roll/pitch away from "down", and yaw
        self._window = None
        self._clock = None
        self._ended = False  # terminated (success with terminate_on_success): step() then needs reset()

    # ------------------------------------------------------------------ gymnasium API

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        options = options or {}
        name = options.get("task") or self.fixed_task
        if name is None:
            name = TASK_NAMES[int(self.np_random.integers(len(TASK_NAMES)))]
        if name not in TASKS:
            raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASK_NAMES)}")
        if self.fixed_task is not None and name != self.fixed_task:
            raise ValueError(f"this env is fixed to {self.fixed_task!r}; use VideoTabletop-MultiTask-v0 to switch")
        self.task = TASKS[name]
        self.sim.restore_state(self._pristine)
        cfg = sample_config(self.np_random)
        self.task.prepare(cfg, self.np_random)
        self.scene.apply(cfg)
        self._target_pos = HOME + self.np_random.uniform(-0.02, 0.02, 3)
        self._target_rpy = np.array([0.0, 0.0, HOME_YAW])
        self.robot.reset(self._target_pos, self._target_quat())
        self.sim.step(self.control.substeps)  # let the blocks settle on the table
        self.scene.update()
        self._state = self._read_state()
        self._start_state = self._state
        self._ended = False
        obs = self._get_obs()
        if self.render_mode == "human":
            self._render_human()
        return obs, self._get_info(False)

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict]:
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if self._ended:  # as the Go env: a finished episode would otherwise repeat its success reward forever
            raise RuntimeError("step() after the task succeeded (terminated); call reset(), or set_task() to chain")
        a = _check_action(action)
        c = self.control
        ee, quat = self.robot.ee_pose()
        # Integrate the commanded pose, but never let it run far ahead of the hand: a blocked arm (pushing
        # against a door stop) then presses with bounded force instead of winding up.
        target = self._target_pos + a[:3] * c.max_dpos
        target = np.clip(target, ee - c.max_lead, ee + c.max_lead)
        self._target_pos = np.clip(target, c.workspace_low, c.workspace_high)
        rpy = self._target_rpy + a[3:6] * c.max_drot
        rpy[:2] = np.clip(rpy[:2], -c.max_tilt, c.max_tilt)
        yaw_now = self.sim.euler(quat)[2]  # the same bound for yaw: the wrist lags the target by a few steps
        lag = (rpy[2] - yaw_now + np.pi) % (2 * np.pi) - np.pi
        rpy[2] = rpy[2] - lag + np.clip(lag, -c.max_lead_rot, c.max_lead_rot)
        rpy[2] = np.clip(rpy[2], HOME_YAW - 1.65, HOME_YAW + 1.65)  # inside joint 7's range
        self._target_rpy = rpy
        self.robot.command(self._target_pos, self._target_quat(), gripper_open=bool(a[6] >= 0.0))
        self.sim.step(c.substeps)
        self.scene.update()
        self._state = self._read_state()
        success = self._success()
        if self.reward_type == "sparse":
            reward = float(success)
        else:
            progress = self.task.progress(self._start_state, self._state) if self.task.progress else success
            reward = 1.0 if success else float(progress)
        obs = self._get_obs()
        if self.render_mode == "human":
            self._render_human()
        terminated = bool(success and self.terminate_on_success)
        self._ended = terminated
        return obs, reward, terminated, False, self._get_info(success)

    def render(self) -> np.ndarray | None:
        """``rgb_array``: the current static frame (H, W, 3) uint8. ``human``: the frame in a pygame window."""
        if self._frame is None:
            return None
        if self.render_mode == "human":
            self._render_human()
            return None
        return self._frame.copy()

    def close(self) -> None:
        """Release the simulator and the window; safe to call twice."""
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None
        self.sim.close()

    # ------------------------------------------------------------------ tasks

    def set_task(self, name: str) -> dict:
        """Switch to task ``name`` mid-episode (CALVIN chains); success is then judged from this moment.

        Returns:
            The fresh ``info`` dict, so a policy can be told the new task right away.
        """
        if name not in TASKS:
            raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASK_NAMES)}")
        if self._state is None:
            raise RuntimeError("call reset() before set_task()")
        self.task = TASKS[name]
        self._start_state = self._state
        self._ended = False  # a chain goes on from the last task's success with the next task
        return self._get_info(False)

    def feasible_tasks(self) -> list[str]:
        """The tasks whose preconditions hold in the current scene."""
        if self._state is None:
            raise RuntimeError("call reset() before feasible_tasks()")
        return [n for n, t in TASKS.items() if t.feasible(self._state)]

    @property
    def state(self) -> dict:
        """The current simulator state (the same dict as ``info["state"]``)."""
        if self._state is None:
            raise RuntimeError("call reset() first")
        return self._state

    # ------------------------------------------------------------------ helpers

    def _target_quat(self) -> np.ndarray:
        r, p, y = self._target_rpy
        return self.sim.quat((np.pi + r, p, y))

    def _read_state(self) -> dict:
        state = {"robot": self.robot.proprio()}
        state.update(self.scene.state(self.robot.finger_links))
        return state

    def _success(self) -> bool:
        return bool(self.task.success(self._start_state, self._state))

    def _get_obs(self) -> Any:
        self._frame = self.sim.render(STATIC_CAMERA, self.frame_size, self.frame_size, cached=True)
        if not self.gripper_camera:
            return self._frame
        return {"static": self._frame, "gripper": self._render_gripper()}

    def _render_gripper(self) -> np.ndarray:
        pos, quat = self.sim.link_pose("panda", self.robot.hand_link)
        rot = self.sim.rotation(quat)
        forward, side = rot[:, 2], rot[:, 0]  # the hand's z axis points out between the fingers
        eye = pos + 0.06 * side - 0.02 * forward  # on the hand's back edge, looking past the fingertips
        cam = Camera(eye=tuple(eye), target=tuple(eye + forward * 0.3 - 0.06 * side), up=tuple(side), fov=75.0)
        return self.sim.render(cam, self.gripper_frame_size, self.gripper_frame_size)

    def _get_info(self, success: bool) -> dict:
        return {"task": self.task.name, "instruction": self.task.instruction, "is_success": bool(success),
                "state": self._state}

    def _render_human(self) -> None:
        try:
            import pygame
        except ImportError as e:  # pragma: no cover - pygame is a declared dependency
            raise gym.error.DependencyNotInstalled('render_mode="human" needs pygame: pip install pygame') from e
        size = 512
        if self._window is None:
            pygame.display.init()  # display only: pygame.init() would also open the audio device
            self._window = pygame.display.set_mode((size, size))
            self._clock = pygame.time.Clock()
        pygame.display.set_caption(f"VideoTabletop: {self.task.instruction}")
        surf = pygame.surfarray.make_surface(np.ascontiguousarray(self._frame.transpose(1, 0, 2)))
        self._window.blit(pygame.transform.scale(surf, (size, size)), (0, 0))
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(self.metadata["render_fps"])


def _check_action(action: Any) -> np.ndarray:
    """A finite 7-vector clipped to [-1, 1]; anything else raises a one-line ValueError."""
    try:
        a = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"action must be a 7-vector of floats in [-1, 1], got {action!r}") from None
    if a.shape != (7,):
        raise ValueError(f"action must have shape (7,) (xyz, euler, gripper), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"action contains NaN or inf: {a.tolist()}")
    return np.clip(a, -1.0, 1.0)
