"""The Franka Panda: loading (low-poly or stock visuals), IK-driven end-effector control, the gripper."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vw_assets import ASSETS_DIR
from vw_envs.tabletop.sim import Sim, pybullet_data_path

ARM_JOINTS = [0, 1, 2, 3, 4, 5, 6]
FINGER_JOINTS = [9, 10]
# The Panda's maximum joint torques (N m), from Franka's datasheet and the URDF's effort limits.
ARM_FORCES = [87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0]
FINGER_FORCE = 40.0
FINGER_OPEN = 0.04  # per finger, so the gripper opens 8 cm
# A comfortable elbow-up posture that IK uses as its null-space target, so the arm never folds oddly.
REST_POSE = [0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.785, 0.04, 0.04]


@dataclass(frozen=True)
class RobotConfig:
    """Where the robot stands and how it is drawn."""

    base: tuple[float, float, float] = (0.0, -0.62, 0.0)
    base_yaw: float = np.pi / 2  # faces +y, across the table
    visuals: str = "lowpoly"  # "lowpoly": simplified collision meshes (~1.2k tris); "stock": ~101.7k tris
    ik_iterations: int = 20


class Panda:
    """A Panda whose end effector (the point between the fingertips) follows pose targets through IK.

    Args:
        sim: the world to load into.
        config: placement and visuals.
    """

    def __init__(self, sim: Sim, config: RobotConfig) -> None:
        self.sim, self.config = sim, config
        if config.visuals == "lowpoly":
            path = ASSETS_DIR / "tabletop" / "panda" / "panda.urdf"
        elif config.visuals == "stock":
            path = pybullet_data_path() / "franka_panda" / "panda.urdf"
        else:
            raise ValueError(f"robot visuals must be 'lowpoly' or 'stock', got {config.visuals!r}")
        sim.load_urdf("panda", path, config.base, config.base_yaw, fixed=True)
        self.ee_link = sim.link("panda", "panda_grasptarget")
        self.hand_link = sim.link("panda", "panda_hand")
        self.finger_links = [sim.link("panda", "panda_leftfinger"), sim.link("panda", "panda_rightfinger")]
        limits = [sim.joint_limits("panda", j) for j in ARM_JOINTS + FINGER_JOINTS]
        self.lower = [lo for lo, _ in limits]
        self.upper = [hi for _, hi in limits]
        # Two tones so the arm's posture reads even at 64 px (the stock meshes get the same colours).
        dark, light = (0.28, 0.3, 0.34, 1.0), (0.93, 0.93, 0.9, 1.0)
        for link in range(-1, sim.num_joints("panda")):
            sim.set_color("panda", link, dark if link in (0, 2, 4, 6, 9, 10) else light)
        for link in self.finger_links:
            sim.set_friction("panda", link, 1.5)

    # ------------------------------------------------------------------ state

    def ee_pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sim.link_pose("panda", self.ee_link)

    def arm_q(self) -> np.ndarray:
        return self.sim.joint_positions("panda", ARM_JOINTS)

    def gripper_width(self) -> float:
        return float(self.sim.joint_positions("panda", FINGER_JOINTS).sum())

    def proprio(self) -> np.ndarray:
        """(15,) float32: end-effector xyz, euler xyz, gripper width, 7 arm joint angles, grip command."""
        pos, quat = self.ee_pose()
        return np.concatenate([pos, self.sim.euler(quat), [self.gripper_width()], self.arm_q(),
                               [1.0 if self.gripper_open else -1.0]]).astype(np.float32)

    # ------------------------------------------------------------------ control

    def reset(self, pos: np.ndarray, quat: np.ndarray) -> None:
        """Teleport the arm so its end effector sits at ``pos``/``quat`` with the gripper open."""
        for j, q in zip(ARM_JOINTS + FINGER_JOINTS, REST_POSE, strict=True):
            self.sim.reset_joint("panda", j, q)
        for _ in range(4):  # IK from the current configuration converges in a few resets
            q = self._ik(pos, quat)
            for j, qj in zip(ARM_JOINTS, q[:7], strict=True):
                self.sim.reset_joint("panda", j, qj)
        for j in FINGER_JOINTS:
            self.sim.reset_joint("panda", j, FINGER_OPEN)
        self.gripper_open = True
        self.command(pos, quat, True)

    def _ik(self, pos: np.ndarray, quat: np.ndarray) -> np.ndarray:
        return self.sim.inverse_kinematics("panda", self.ee_link, pos, quat, self.lower, self.upper, REST_POSE,
                                           self.config.ik_iterations)

    def command(self, pos: np.ndarray, quat: np.ndarray, gripper_open: bool) -> None:
        """Set joint targets for the end-effector pose and the gripper; physics steps move the arm."""
        q = self._ik(pos, quat)
        self.sim.drive_joints("panda", ARM_JOINTS, q[:7], ARM_FORCES)
        self.gripper_open = gripper_open
        width = FINGER_OPEN if gripper_open else 0.0
        self.sim.drive_joints("panda", FINGER_JOINTS, np.array([width, width]), [FINGER_FORCE] * 2)
