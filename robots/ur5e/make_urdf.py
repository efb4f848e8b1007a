"""Write ``ur5e.urdf`` (next to this file) from Universal Robots' published UR5e data.

Run ``python robots/ur5e/make_urdf.py`` after changing a number below; the URDF is
checked in, so cobotsim never runs this at load time.

Source of every number (Universal Robots, "DH Parameters for calculations of kinematics
and dynamics", universal-robots.com/articles/ur/application-installation/
dh-parameters-for-calculations-of-kinematics-and-dynamics):

* kinematics, standard Denavit-Hartenberg: d1 = 0.1625, a2 = -0.425, a3 = -0.3922,
  d4 = 0.1333, d5 = 0.0997, d6 = 0.0996 m; alpha = (pi/2, 0, 0, pi/2, -pi/2, 0);
* link masses 3.761, 8.058, 2.846, 1.37, 1.3, 0.365 kg and the centres of mass, which UR
  gives in DH frame i (the frame at the far end of link i, after the full DH transform of
  joint i).

Frames: URDF link i's frame is DH frame i-1 turned by joint i's angle about its z axis
(the joint axis), so joint i+1's origin in link i is the fixed part of the DH transform,
Tz(d_i)·Tx(a_i)·Rx(alpha_i); UR's centre of mass c_i (in DH frame i) becomes
(0, 0, d_i) + (a_i, 0, 0) + Rx(alpha_i)·c_i in link i. ``tool0`` is DH frame 6: the tool
flange face, the TCP of the bare arm (no tool).

Collision geometry is simple cylinders (no meshes), sized from the UR5e's outer
dimensions (base Ø 149 mm, joint housings about Ø 120 mm at the shoulder and elbow, Ø 90 mm
at the wrists, upper-arm tube offset 0.138 m and forearm 0.007 m along the joint axes,
as in the DH diagrams where d4 = 0.138 - 0.131 + 0.127 m); they are proxies for contact
and distance, a little larger than the real housings rather than smaller.

Inertias (UR publishes none for the UR5e: "negligible due to their smaller size"): each
link's tensor is that of its collision cylinders as one uniform-density solid carrying the
published mass (solid cylinder m(3r²+L²)/12 across, m r²/2 along its axis, summed with
the parallel-axis theorem about the solid's centroid), placed at the published centre
of mass. Base (fixed, not moving): 20.6 kg datasheet weight minus the six links' 17.7 kg.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

# ------------------------------------------------------------------ published data
D = (0.1625, 0.0, 0.0, 0.1333, 0.0997, 0.0996)            # m
A = (0.0, -0.425, -0.3922, 0.0, 0.0, 0.0)                 # m
ALPHA = (math.pi / 2, 0.0, 0.0, math.pi / 2, -math.pi / 2, 0.0)
MASS = (3.761, 8.058, 2.846, 1.37, 1.3, 0.365)            # kg
COM = ((0.0, -0.02561, 0.00193), (0.2125, 0.0, 0.11336), (0.15, 0.0, 0.0265),
       (0.0, -0.0018, 0.01634), (0.0, 0.0018, 0.01634), (0.0, 0.0, -0.001159))  # m, DH frame i
BASE_MASS = 20.6 - sum(MASS)                              # kg
LIMIT = 2 * math.pi                                       # rad, all joints (see robot.yaml)
ELBOW_LIMIT = math.pi                                     # rad, joint 3
VELOCITY = math.pi                                        # rad/s (180 °/s), all joints
EFFORT = (150.0, 150.0, 150.0, 28.0, 28.0, 28.0)          # N·m

# ------------------------------------------------------------------ collision proxies
# (axis 'x'|'y'|'z' of the link frame, radius m, start, end along the axis m, centre of
# the other two coordinates)
BASE_SHAPES = [("z", 0.0745, 0.0, 0.086, (0.0, 0.0))]
SHAPES = [
    [("z", 0.060, 0.086, 0.2225, (0.0, 0.0))],                       # shoulder column
    [("z", 0.060, 0.065, 0.185, (0.0, 0.0)),                         # shoulder housing
     ("x", 0.045, -0.425, 0.0, (0.0, 0.138))],                       # upper arm tube (y, z)
    [("z", 0.050, -0.030, 0.170, (0.0, 0.0)),                        # elbow housing
     ("x", 0.038, -0.3922, 0.0, (0.0, 0.007))],                      # forearm tube
    [("z", 0.045, -0.030, 0.160, (0.0, 0.0))],                       # wrist 1
    [("z", 0.045, -0.040, 0.140, (0.0, 0.0))],                       # wrist 2 (around joint 6 too)
    [("z", 0.0375, 0.045, 0.0996, (0.0, 0.0))],                      # wrist 3 up to the flange
]
NAMES = ("shoulder_pan", "shoulder_lift", "elbow", "wrist_1", "wrist_2", "wrist_3")
LINKS = ("shoulder_link", "upper_arm_link", "forearm_link", "wrist_1_link", "wrist_2_link",
         "wrist_3_link")


def rot_x(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def cylinder(axis: str, r: float, start: float, end: float, other) -> tuple:
    """Centre (3,), length, and the inertia per unit mass about the centre (3 x 3)."""
    length = end - start
    k = "xyz".index(axis)
    centre = np.zeros(3)
    centre[k] = 0.5 * (start + end)
    centre[[i for i in range(3) if i != k]] = other
    inertia = np.eye(3) * (3 * r * r + length * length) / 12.0
    inertia[k, k] = r * r / 2.0
    return centre, length, inertia


def solid(shapes, mass: float) -> np.ndarray:
    """Inertia tensor (kg·m²) about the centroid of uniform-density cylinders of ``mass``."""
    parts = []
    for axis, r, start, end, other in shapes:
        centre, length, unit = cylinder(axis, r, start, end, other)
        parts.append((math.pi * r * r * length, centre, unit))
    volume = sum(v for v, _, _ in parts)
    centroid = sum(v * c for v, c, _ in parts) / volume
    inertia = np.zeros((3, 3))
    for v, c, unit in parts:
        m = mass * v / volume
        d = c - centroid
        inertia += m * (unit + (d @ d) * np.eye(3) - np.outer(d, d))
    return inertia


def _f(x: float) -> str:
    return f"{x:.6g}"


def _vec(v) -> str:
    return " ".join(_f(float(x)) for x in v)


def _inertia(i: np.ndarray) -> str:
    return (f'<inertia ixx="{_f(i[0, 0])}" ixy="{_f(i[0, 1])}" ixz="{_f(i[0, 2])}" '
            f'iyy="{_f(i[1, 1])}" iyz="{_f(i[1, 2])}" izz="{_f(i[2, 2])}"/>')


def _geometry(shapes, rgba: str) -> list[str]:
    rpy = {"x": "0 1.5707963267949 0", "y": "1.5707963267949 0 0", "z": "0 0 0"}
    out = []
    for axis, r, start, end, other in shapes:
        centre, length, _ = cylinder(axis, r, start, end, other)
        for tag in ("visual", "collision"):
            out += [f"    <{tag}>", f'      <origin xyz="{_vec(centre)}" rpy="{rpy[axis]}"/>',
                    f'      <geometry><cylinder radius="{_f(r)}" length="{_f(length)}"/></geometry>']
            if tag == "visual":
                out.append(f'      <material name="ur"><color rgba="{rgba}"/></material>')
            out.append(f"    </{tag}>")
    return out


def link(name: str, mass: float, com, shapes) -> list[str]:
    return ([f'  <link name="{name}">', "    <inertial>",
             f'      <origin xyz="{_vec(com)}" rpy="0 0 0"/>', f'      <mass value="{_f(mass)}"/>',
             f"      {_inertia(solid(shapes, mass))}", "    </inertial>"]
            + _geometry(shapes, "0.7 0.75 0.8 1") + ["  </link>"])


def urdf() -> str:
    out = ['<?xml version="1.0"?>',
           "<!-- Universal Robots UR5e, generated by robots/ur5e/make_urdf.py from UR's",
           "     published DH parameters and link masses; see that file for sources and",
           "     how the inertias were computed. Do not edit by hand. -->",
           '<robot name="ur5e">']
    base_com = [0.0, 0.0, 0.043]
    out += link("base_link", BASE_MASS, base_com, BASE_SHAPES)
    parent, origin, rpy = "base_link", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)
    for i in range(6):
        com = np.array([A[i], 0.0, D[i]]) + rot_x(ALPHA[i]) @ np.array(COM[i])
        out += link(LINKS[i], MASS[i], com, SHAPES[i])
        lim = ELBOW_LIMIT if i == 2 else LIMIT
        out += [f'  <joint name="{NAMES[i]}_joint" type="revolute">',
                f'    <parent link="{parent}"/>', f'    <child link="{LINKS[i]}"/>',
                f'    <origin xyz="{_vec(origin)}" rpy="{_vec(rpy)}"/>',
                '    <axis xyz="0 0 1"/>',
                f'    <limit lower="{_f(-lim)}" upper="{_f(lim)}" effort="{_f(EFFORT[i])}" '
                f'velocity="{_f(VELOCITY)}"/>', "  </joint>"]
        parent, origin, rpy = LINKS[i], (A[i], 0.0, D[i]), (ALPHA[i], 0.0, 0.0)
    # the TCP: massless (pybullet would give a link without <inertial> 1 kg)
    out += ['  <link name="tool0">', '    <inertial>', '      <origin xyz="0 0 0" rpy="0 0 0"/>',
            '      <mass value="0"/>', '      <inertia ixx="0" ixy="0" ixz="0" iyy="0" iyz="0" izz="0"/>',
            '    </inertial>', '  </link>',
            '  <joint name="wrist_3_link-tool0_fixed_joint" type="fixed">',
            '    <parent link="wrist_3_link"/>', '    <child link="tool0"/>',
            f'    <origin xyz="{_vec(origin)}" rpy="{_vec(rpy)}"/>', "  </joint>", "</robot>"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    path = Path(__file__).with_name("ur5e.urdf")
    path.write_text(urdf())
    print(f"wrote {path}")
