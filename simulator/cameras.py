"""Camera observations for vision-based controllers: a scene camera and a wrist camera.

Images are rendered headless by pybullet's software renderer through the
:class:`~simulator.physics.Sim` facade: RGB as (height, width, 3) uint8 and, optionally,
depth as (height, width) float32 in m along the optical axis.

``scene``  a fixed camera looking at the cell (eye and target in world m, default the
           env's overview: eye (1.9, -1.6, 1.9), target (0.45, 0, 0.9));
``wrist``  mounted on the robot's TCP frame: 0.08 m behind the TCP along the tool's z axis,
           looking along +z (where the gripper points), image up along the tool's x axis;
           it moves with the end effector.

Field of view 60° vertically; clipping planes 0.02 m and 5 m.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from simulator.errors import ConfigError
from simulator.kinematics import quat_to_matrix

CAMERA_NAMES = ("scene", "wrist")
FAR = 5.0            # m
NEAR = 0.02          # m
WRIST_BACK = 0.08    # m behind the TCP along the tool z axis
FOV = 60.0           # deg, vertical


@dataclass(frozen=True)
class CameraSet:
    """Which cameras, at what resolution (pixels), with or without depth."""

    names: tuple[str, ...] = ()
    width: int = 96
    height: int = 96
    depth: bool = False
    scene_eye: tuple = (1.9, -1.6, 1.9)
    scene_target: tuple = (0.45, 0.0, 0.9)

    def __post_init__(self) -> None:
        unknown = [n for n in self.names if n not in CAMERA_NAMES]
        if unknown:
            raise ConfigError(f"unknown camera(s) {unknown}; known: {', '.join(CAMERA_NAMES)}")
        if not (8 <= int(self.width) <= 2048 and 8 <= int(self.height) <= 2048):
            raise ConfigError(f"camera size {self.width} x {self.height} pixels: each side must "
                              "be 8 to 2048")

    def spaces(self) -> dict[str, spaces.Space]:
        """Observation spaces of the images, by key (``<camera>_rgb``, ``<camera>_depth``)."""
        out: dict[str, spaces.Space] = {}
        for name in self.names:
            out[f"{name}_rgb"] = spaces.Box(0, 255, (self.height, self.width, 3), np.uint8)
            if self.depth:
                out[f"{name}_depth"] = spaces.Box(0.0, FAR, (self.height, self.width), np.float32)
        return out

    def render(self, sim, robot) -> dict[str, np.ndarray]:
        """The images now, by key."""
        out = {}
        for name in self.names:
            eye, target, up = self._pose(name, robot)
            rgb, depth = sim.render(self.width, self.height, eye, target, up, fov=FOV,
                                    near=NEAR, far=FAR)
            out[f"{name}_rgb"] = rgb
            if self.depth:
                out[f"{name}_depth"] = np.clip(depth, 0.0, FAR).astype(np.float32)
        return out

    def _pose(self, name: str, robot):
        if name == "scene":
            return self.scene_eye, self.scene_target, (0.0, 0.0, 1.0)
        pos, quat = robot.ee_pose()
        rot = quat_to_matrix(quat)
        eye = pos - WRIST_BACK * rot[:, 2]
        return tuple(eye), tuple(eye + rot[:, 2]), tuple(rot[:, 0])
