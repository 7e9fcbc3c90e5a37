"""The only module that imports pybullet: one physics client per env, bodies by name, cameras, rotations.

Everything above this file (robot, scene, tasks, env) talks to :class:`Sim` with plain numpy arrays, so a
different simulator would only need a new ``sim.py``.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def _quiet_c_output() -> Iterator[None]:
    """Silence C-level stdout/stderr: pybullet prints a build banner on import and ``argv[0]=`` on connect.

    Python exceptions still propagate; only the C library's chatter goes to /dev/null.
    """
    fds = []
    for stream in (sys.stdout, sys.stderr):
        try:
            fds.append(stream.fileno())
            stream.flush()
        except (AttributeError, io.UnsupportedOperation, ValueError):  # a replaced stream: leave it be
            pass
    saved = [os.dup(fd) for fd in fds]
    try:
        with open(os.devnull, "w") as null:
            for fd in fds:
                os.dup2(null.fileno(), fd)
            try:
                yield
            finally:
                _libc_fflush()  # C stdio buffers a pipe: flush while it still points at /dev/null
    finally:
        for fd, old in zip(fds, saved, strict=True):
            os.dup2(old, fd)
            os.close(old)


def _libc_fflush() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


def _import_pybullet():
    with _quiet_c_output():
        import pybullet
        from pybullet_utils import bullet_client
    return pybullet, bullet_client


p, _bullet_client = _import_pybullet()


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: where it is, what it looks at, and its vertical field of view (degrees)."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fov: float = 50.0
    near: float = 0.02
    far: float = 4.0


class Sim:
    """A headless PyBullet world (``DIRECT`` connection, TinyRenderer) with bodies looked up by name.

    Args:
        timestep: physics step in seconds.
        shadows: render shadows (about 2x slower with TinyRenderer, so off by default).
    """

    def __init__(self, timestep: float = 1.0 / 240.0, shadows: bool = False) -> None:
        with _quiet_c_output():
            self.client = _bullet_client.BulletClient(connection_mode=p.DIRECT)
        self.timestep = timestep
        self.shadows = shadows
        self.client.setTimeStep(timestep)
        self.client.setGravity(0, 0, -9.81)
        self.bodies: dict[str, int] = {}
        self._joints: dict[tuple[int, str], int] = {}
        self._links: dict[tuple[int, str], int] = {}
        self._closed = False
        # The backdrop: big static bodies drawn once per camera into a cached layer (see render()).
        self._backdrop: list[tuple[str, os.PathLike | str, tuple[float, float, float], float]] = []
        self._layers: dict[tuple[Camera, int, int], tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ bodies

    def load_urdf(
        self,
        name: str,
        path: str | os.PathLike,
        pos: tuple[float, float, float] = (0.0, 0.0, 0.0),
        yaw: float = 0.0,
        fixed: bool = True,
    ) -> int:
        """Load a URDF as body ``name`` at ``pos`` turned by ``yaw`` about z; returns its id."""
        flags = p.URDF_USE_INERTIA_FROM_FILE
        body = self.client.loadURDF(
            str(path), basePosition=pos, baseOrientation=self.quat((0.0, 0.0, yaw)),
            useFixedBase=fixed, flags=flags,
        )
        self.bodies[name] = body
        for j in range(self.client.getNumJoints(body)):
            info = self.client.getJointInfo(body, j)
            self._joints[(body, info[1].decode())] = j
            self._links[(body, info[12].decode())] = j
        return body

    def load_backdrop(self, name: str, path: str | os.PathLike, pos: tuple[float, float, float] = (0.0, 0.0, 0.0),
                      yaw: float = 0.0) -> int:
        """Load a fixed body that never moves (the table, the floor).

        For cached cameras, :meth:`render` draws it once into a layer and then composites it by depth,
        instead of rasterising it every frame. TinyRenderer spends time on every pixel a triangle covers,
        hidden or not, so the table and floor, which span the whole view, cost over half of a frame.
        """
        body = self.load_urdf(name, path, pos, yaw, fixed=True)
        self._backdrop.append((name, path, pos, yaw))
        return body

    def no_collision(self, a: str, b: str) -> None:
        """Never collide bodies ``a`` and ``b`` (an object's static shell and its moving part)."""
        ia, ib = self.bodies[a], self.bodies[b]
        for la in range(-1, self.client.getNumJoints(ia)):
            for lb in range(-1, self.client.getNumJoints(ib)):
                self.client.setCollisionFilterPair(ia, ib, la, lb, enableCollision=0)

    def joint(self, body: str, joint: str) -> int:
        return self._joints[(self.bodies[body], joint)]

    def link(self, body: str, link: str) -> int:
        return self._links[(self.bodies[body], link)]

    def num_joints(self, body: str) -> int:
        return self.client.getNumJoints(self.bodies[body])

    def joint_limits(self, body: str, joint: int) -> tuple[float, float]:
        info = self.client.getJointInfo(self.bodies[body], joint)
        return float(info[8]), float(info[9])

    def joint_position(self, body: str, joint: int) -> float:
        return float(self.client.getJointState(self.bodies[body], joint)[0])

    def joint_positions(self, body: str, joints: list[int]) -> np.ndarray:
        return np.array([s[0] for s in self.client.getJointStates(self.bodies[body], joints)])

    def reset_joint(self, body: str, joint: int, q: float) -> None:
        self.client.resetJointState(self.bodies[body], joint, q, 0.0)

    def hold_joint(self, body: str, joint: int, friction: float) -> None:
        """Make a passive joint stay put unless pushed: a zero-velocity motor with limited force."""
        self.client.setJointMotorControl2(self.bodies[body], joint, p.VELOCITY_CONTROL, targetVelocity=0.0,
                                          force=friction)

    def spring_joint(self, body: str, joint: int, rest: float, force: float) -> None:
        """A weak position motor acts as a return spring (buttons)."""
        self.client.setJointMotorControl2(self.bodies[body], joint, p.POSITION_CONTROL, targetPosition=rest,
                                          force=force, positionGain=0.05)

    def drive_joints(self, body: str, joints: list[int], targets: np.ndarray, forces: list[float]) -> None:
        self.client.setJointMotorControlArray(self.bodies[body], joints, p.POSITION_CONTROL,
                                              targetPositions=list(targets), forces=forces)

    def base_pose(self, body: str) -> tuple[np.ndarray, np.ndarray]:
        pos, quat = self.client.getBasePositionAndOrientation(self.bodies[body])
        return np.array(pos), np.array(quat)

    def reset_base(self, body: str, pos: np.ndarray, quat: np.ndarray) -> None:
        self.client.resetBasePositionAndOrientation(self.bodies[body], list(pos), list(quat))
        self.client.resetBaseVelocity(self.bodies[body], [0, 0, 0], [0, 0, 0])

    def link_pose(self, body: str, link: int) -> tuple[np.ndarray, np.ndarray]:
        state = self.client.getLinkState(self.bodies[body], link, computeForwardKinematics=True)
        return np.array(state[4]), np.array(state[5])

    def in_contact(self, a: str, b: str, link_a: int | None = None) -> bool:
        kwargs = {} if link_a is None else {"linkIndexA": link_a}
        return len(self.client.getContactPoints(self.bodies[a], self.bodies[b], **kwargs)) > 0

    def set_color(self, body: str, link: int, rgba: tuple[float, float, float, float]) -> None:
        self.client.changeVisualShape(self.bodies[body], link, rgbaColor=list(rgba))

    def set_friction(self, body: str, link: int, lateral: float) -> None:
        self.client.changeDynamics(self.bodies[body], link, lateralFriction=lateral)

    def inverse_kinematics(
        self, body: str, link: int, pos: np.ndarray, quat: np.ndarray, lower: list[float], upper: list[float],
        rest: list[float], iterations: int = 20,
    ) -> np.ndarray:
        """Joint positions (all movable joints, in order) that put ``link`` at ``pos``/``quat``."""
        ranges = [u - lo for lo, u in zip(lower, upper, strict=True)]
        q = self.client.calculateInverseKinematics(
            self.bodies[body], link, list(pos), list(quat), lowerLimits=lower, upperLimits=upper,
            jointRanges=ranges, restPoses=rest, maxNumIterations=iterations, residualThreshold=1e-5,
        )
        return np.array(q)

    # ------------------------------------------------------------------ stepping and state

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.client.stepSimulation()

    def save_state(self) -> int:
        """Snapshot of every body's pose, velocity and the solver's contact cache (in memory)."""
        return self.client.saveState()

    def restore_state(self, state_id: int) -> None:
        """Back to a :meth:`save_state` snapshot. Resets warm-started contacts too, so a reused env
        replays a seed exactly as a fresh one does."""
        self.client.restoreState(stateId=state_id)

    # ------------------------------------------------------------------ rotations

    def quat(self, euler: tuple[float, float, float] | np.ndarray) -> np.ndarray:
        return np.array(self.client.getQuaternionFromEuler(list(euler)))

    def euler(self, quat: np.ndarray) -> np.ndarray:
        return np.array(self.client.getEulerFromQuaternion(list(quat)))

    def rotation(self, quat: np.ndarray) -> np.ndarray:
        """3x3 rotation matrix of a quaternion (x, y, z, w)."""
        return np.array(self.client.getMatrixFromQuaternion(list(quat))).reshape(3, 3)

    # ------------------------------------------------------------------ cameras

    def render(self, camera: Camera, width: int, height: int, cached: bool = False) -> np.ndarray:
        """(H, W, 3) uint8 RGB image through ``camera``, rendered by TinyRenderer on the CPU.

        Args:
            cached: the camera is fixed (the static camera): draw the backdrop from a layer rendered once,
                and only the rest of the scene each frame. The image is the same (both passes use the same
                depth test and per-object lighting); shadows would fall across the layers, so with shadows
                on this falls back to a plain render.
        """
        if not cached or self.shadows or not self._backdrop:
            return self._draw(camera, width, height)[0]
        key = (camera, width, height)
        if key not in self._layers:
            self._layers[key] = self._backdrop_layer(camera, width, height)
        layer_rgb, layer_depth = self._layers[key]
        # Park the backdrop far outside the view while drawing the rest (a fully transparent colour is not
        # enough: TinyRenderer still rasterises it). It is back before the next physics step computes contacts.
        for name, *_ in self._backdrop:
            self.client.resetBasePositionAndOrientation(self.bodies[name], [0.0, 0.0, -1000.0], [0, 0, 0, 1])
        try:
            rgb, depth = self._draw(camera, width, height)
        finally:
            for name, _, pos, yaw in self._backdrop:
                self.client.resetBasePositionAndOrientation(self.bodies[name], list(pos),
                                                            list(self.quat((0.0, 0.0, yaw))))
        return np.where((layer_depth < depth)[:, :, None], layer_rgb, rgb)

    def _draw(self, camera: Camera, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        view = self.client.computeViewMatrix(camera.eye, camera.target, camera.up)
        proj = self.client.computeProjectionMatrixFOV(camera.fov, width / height, camera.near, camera.far)
        _, _, rgba, depth, _ = self.client.getCameraImage(
            width, height, viewMatrix=view, projectionMatrix=proj, renderer=p.ER_TINY_RENDERER,
            shadow=int(self.shadows), flags=p.ER_NO_SEGMENTATION_MASK,
            lightDirection=[0.4, -0.6, 1.0],
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()
        return rgb, np.asarray(depth, dtype=np.float32).reshape(height, width)

    def _backdrop_layer(self, camera: Camera, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Render the backdrop alone (RGB and depth), in a scratch client holding nothing else."""
        scratch = Sim(self.timestep, shadows=False)
        try:
            for name, path, pos, yaw in self._backdrop:
                scratch.load_urdf(name, path, pos, yaw, fixed=True)
            return scratch._draw(camera, width, height)
        finally:
            scratch.close()

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Disconnect; safe to call twice."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self.client.disconnect()


def pybullet_data_path() -> Path:
    """Where pybullet ships its stock models (the benchmark's full-detail Panda lives there)."""
    import pybullet_data

    return Path(pybullet_data.getDataPath())
