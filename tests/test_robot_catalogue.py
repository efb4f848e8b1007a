"""The robots of the catalogue (Panda, UR5e, iiwa 7, xArm6): each loads, passes
check-robot, holds and reaches home, follows ee_delta actions, round-trips IK, has the
URDF's moving mass and stopping data up to its top speed; check-robot reports every
problem of a broken folder; the suction gripper picks and releases; the UR5e URDF has
UR's DH kinematics."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from simulator import catalogue
from simulator.control import EeDeltaControl
from simulator.errors import SpecError
from simulator.kinematics import quat_to_matrix, rotation_vector
from simulator.physics import Sim
from simulator.resources import robots_dir
from simulator.robot import SUCTION_OPEN_WIDTH, Robot, moving_links
from simulator.robot_check import check_robot
from simulator.spec.loading import load_spec
from simulator.spec.robot import GripperSpec, RobotSpec
from simulator.spec.schema import from_mapping

ROOT = Path(__file__).resolve().parent.parent
ROBOTS = sorted(p.parent.name for p in robots_dir().glob("*/robot.yaml"))
TABLE_TOP = 0.75   # m, the base on the handover cell's table


def test_the_catalogue_has_the_four_robots():
    assert {"panda", "ur5e", "iiwa7", "xarm6"} <= set(ROBOTS)


@pytest.fixture(params=ROBOTS)
def robot(request):
    name = request.param
    sim = Sim(time_step=1 / 240)
    r = Robot(sim, catalogue.load_robot(name), catalogue.robot_folder(name),
              position=(0.0, 0.0, TABLE_TOP))
    r.reset()
    yield r
    sim.close()


def _run(robot: Robot, seconds: float, control=None, action=None) -> None:
    for _ in range(round(seconds / 0.05)):
        if control is not None:
            control.apply(action)
        robot.apply_commands(0.05)
        robot.sim.step(12)


# ------------------------------------------------------------------ every robot
@pytest.mark.parametrize("name", ROBOTS)
def test_robot_folder_passes_check_robot(name):
    assert check_robot(catalogue.robot_folder(name)) == []


def test_forward_kinematics_matches_the_physics(robot):
    """The kinematic chain against pybullet's link frames, for every link (the xArm6's
    and UR5e's inertial frames are turned from their link frames)."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        q = rng.uniform(np.maximum(robot.lower, -3.0), np.minimum(robot.upper, 3.0))
        robot.reset(q)
        for link in robot.link_indices:
            pos, quat = robot.sim.link_state(robot.body, link)
            fk_pos, fk_quat = robot.forward_kinematics(q, link)
            assert np.allclose(pos, fk_pos, atol=1e-5), (robot.spec.id, link)
            assert abs(abs(np.dot(quat, fk_quat)) - 1.0) < 1e-6, (robot.spec.id, link)


def test_reaches_and_holds_home(robot):
    start = np.clip(robot.home + 0.25, robot.lower, robot.upper)
    robot.reset(start)
    robot.command_joints(robot.home)
    _run(robot, 2.0)
    q, qd = robot.joint_state()
    assert np.abs(q - robot.home).max() < 2e-3
    assert np.abs(qd).max() < 0.01
    tcp = robot.ee_pose()[0]
    assert tcp[2] > TABLE_TOP + 0.2   # well above the table the base stands on


def test_follows_a_small_ee_delta_motion(robot):
    """0.5 s of +x at a fifth of full scale (0.1 m/s), then 0.5 s of -z: the TCP moves
    about 5 cm each way and keeps its orientation."""
    control = EeDeltaControl(robot)
    start, quat0 = robot.ee_pose()
    _run(robot, 0.5, control, np.array([0.2, 0, 0, 0, 0, 0, 1.0]))
    _run(robot, 0.5, control, np.array([0, 0, -0.2, 0, 0, 0, 1.0]))
    _run(robot, 0.5, control, np.zeros(7))      # settle on the last target
    pos, quat = robot.ee_pose()
    assert np.allclose(pos - start, [0.05, 0.0, -0.05], atol=5e-3), pos - start
    turn = rotation_vector(quat_to_matrix(quat) @ quat_to_matrix(quat0).T)
    assert np.linalg.norm(turn) < 0.02


def test_inverse_kinematics_round_trip(robot):
    """FK -> IK (seeded 0.1 rad away) -> FK within 1 mm and 1 mrad at random poses."""
    rng = np.random.default_rng(7)
    lo = np.maximum(robot.lower, -2.5) + 0.2
    hi = np.minimum(robot.upper, 2.5) - 0.2
    for _ in range(5):
        q = rng.uniform(lo, hi)
        pos, quat = robot.forward_kinematics(q)
        seed = np.clip(q + rng.uniform(-0.1, 0.1, q.size), robot.lower, robot.upper)
        q_ik = robot.inverse_kinematics(pos, quat, iterations=100, seed=seed, tolerance=1e-6)
        pos_ik, quat_ik = robot.forward_kinematics(q_ik)
        assert np.linalg.norm(pos_ik - pos) < 1e-3
        turn = rotation_vector(quat_to_matrix(quat_ik) @ quat_to_matrix(quat).T)
        assert np.linalg.norm(turn) < 1e-3


def test_moving_mass_matches_the_urdf(robot):
    sim, body = robot.sim, robot.body
    urdf = sum(sim.link_mass(body, link) for link in moving_links(sim, body))
    assert urdf > 0
    assert abs(urdf - robot.spec.moving_mass) <= 0.05 * robot.spec.moving_mass


def test_every_moving_link_with_geometry_declares_its_contact_surface(robot):
    sim, body = robot.sim, robot.body
    declared = {s.link: s for s in robot.spec.contact_surfaces}
    shaped = {sim.joint_info(body, link).link_name for link in moving_links(sim, body)
              if sim.link_has_collision(body, link)}
    assert shaped and shaped == set(declared)
    for s in declared.values():   # conservative: no more than a 2 cm x 2 cm patch
        assert (s.area_cm2 or 0) <= 4.0 and (s.edge_radius_mm or 0) <= 2.0


@pytest.mark.parametrize("name", ROBOTS)
def test_stopping_data_cover_the_top_speed(name):
    spec = catalogue.load_robot(name)
    assert len(spec.stopping) >= 2 and spec.stopping[-1].speed >= spec.max_tcp_speed
    # robot.yaml's rows are the category 1 TCP table of the measured stopping.yaml
    text = (catalogue.robot_folder(name) / "stopping.yaml").read_text()
    measured = yaml.safe_load(text)
    rows = measured["stopping"]["category_1"]["tcp"]
    assert np.allclose([[r.speed, r.time, r.distance] for r in spec.stopping], rows, rtol=1e-5)
    # measured with the rated payload, or with less and the reason in the file (xArm6)
    payload = measured["stopping"]["conditions"]["payload"]
    assert payload == spec.payload or (0 < payload < spec.payload and "not the rated" in text)


# ------------------------------------------------------------------ check-robot
def _broken_ur5e(tmp_path: Path) -> Path:
    """A copy of the UR5e folder with five problems of different kinds."""
    folder = tmp_path / "ur5e"
    shutil.copytree(catalogue.robot_folder("ur5e"), folder)
    data = yaml.safe_load((folder / "robot.yaml").read_text())
    data["joints"][1]["name"] = "shoulder_joint"                 # no such joint
    data["joints"][2]["upper"] = 4.0                             # beyond the URDF's pi
    data["contact_surfaces"][0]["link"] = "shoulder"             # no such link
    del data["contact_surfaces"][1]["area_cm2"]                  # flat without an area
    data["stopping"] = data["stopping"][:2]                      # ends below 1 m/s
    data["moving_mass"] = 12.0                                   # URDF: 17.7 kg
    (folder / "robot.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def test_check_robot_reports_every_problem_in_one_pass(tmp_path):
    folder = _broken_ur5e(tmp_path)
    problems = check_robot(folder)
    keys = {p.key for p in problems}
    assert keys == {"joints[1].name", "joints[2].upper", "contact_surfaces[0].link",
                    "contact_surfaces[1]", "stopping", "moving_mass"}, problems
    file = str(folder / "robot.yaml")
    assert all(p.file == file and p.message.startswith(file) for p in problems)
    by_key = {p.key: p.message for p in problems}
    assert "shoulder_lift_joint" in by_key["joints[1].name"]        # lists the URDF's joints
    assert "3.14159" in by_key["joints[2].upper"]
    assert "area_cm2" in by_key["contact_surfaces[1]"]
    assert "max_tcp_speed 1.0" in by_key["stopping"]
    assert "17.7" in by_key["moving_mass"]


def test_check_robot_finds_yaml_errors_and_a_missing_urdf(tmp_path):
    folder = tmp_path / "arm"
    folder.mkdir()
    (folder / "robot.yaml").write_text("id: other\nname: x\nmaker: y\nurdf: nowhere.urdf\n"
                                       "joints: []\nend_effector_link: tcp\nhome: []\n"
                                       "moving_mass: -1\npayload: 1\nmax_tcp_speed: 1\n"
                                       "colour: red\n")
    keys = {p.key for p in check_robot(folder)}
    assert {"id", "urdf", "joints", "moving_mass", "colour", "stopping"} <= keys
    (folder / "robot.yaml").write_text("id: [\n")
    (problem,) = check_robot(folder)
    assert "line" in problem.key and problem.file.endswith("robot.yaml")
    assert check_robot(tmp_path / "missing")[0].message.endswith("a robot folder holding robot.yaml")


def test_check_robot_command_line(tmp_path):
    """Both outcomes through the real command line: exit codes, text and JSON reports."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "simulator", "check-robot"]
    good = subprocess.run(cmd + [str(catalogue.robot_folder("ur5e"))], env=env,
                          capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().endswith("no problems")
    folder = _broken_ur5e(tmp_path)
    bad = subprocess.run(cmd + [str(folder), "--json"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1, bad.stderr
    report = json.loads(bad.stdout)     # nothing else on stdout (pybullet's importer is quiet)
    assert report["ok"] is False and len(report["problems"]) == 6
    assert {p["key"] for p in report["problems"]} >= {"joints[1].name", "stopping"}


# ------------------------------------------------------------------ grippers
def test_gripper_kinds_are_checked():
    panda = catalogue.load_robot("panda")
    assert panda.gripper.kind == "parallel"
    ok = from_mapping(GripperSpec, {"kind": "suction", "force": 50.0, "reach": 0.01})
    assert ok.joints == () and ok.open is None
    for bad, words in (({"force": 50.0}, "needs joints"),
                       ({"kind": "suction", "force": 50.0}, "needs reach"),
                       ({"kind": "suction", "force": 50.0, "reach": 0.01, "joints": ["j"]},
                        "no finger joints"),
                       ({"joints": ["a"], "open": 0.04, "closed": 0.0, "force": 5.0,
                         "reach": 0.01}, "reach is for a suction")):
        with pytest.raises(SpecError, match=words) as info:
            from_mapping(GripperSpec, bad, "robot.yaml", "gripper")
        assert "robot.yaml: gripper" in str(info.value)


def _suction_cell(name: str, box_mass: float):
    sim = Sim(time_step=1 / 240)
    sim.create_body("table", "box", (0.6, 0.6, TABLE_TOP / 2), 0.0,
                    position=(0.3, 0.0, TABLE_TOP / 2))
    robot = Robot(sim, catalogue.load_robot(name), catalogue.robot_folder(name),
                  position=(0.0, 0.0, TABLE_TOP))
    robot.reset()
    tcp, _ = robot.ee_pose()
    box = sim.create_body("box", "box", (0.02, 0.02, 0.05), box_mass,
                          position=(tcp[0], tcp[1], TABLE_TOP + 0.05))
    return sim, robot, box


def _move(robot: Robot, target, quat, opening: float, seconds: float) -> None:
    for _ in range(round(seconds / 0.05)):
        now = robot.ee_pose()[0]
        step = np.asarray(target, float) - now
        dist = np.linalg.norm(step)
        goal = now + (step if dist < 0.02 else step * 0.02 / dist)
        robot.command_joints(robot.inverse_kinematics(goal, quat))
        robot.command_gripper(opening)
        robot.apply_commands(0.05)
        robot.sim.step(12)


def _pick_and_place(name: str, box_mass: float):
    """Down onto the box, suck, lift 0.2 m, move 0.1 m sideways, release."""
    sim, robot, box = _suction_cell(name, box_mass)
    _, quat = robot.ee_pose()
    start = sim.base_pose(box)[0]
    above = start + [0.0, 0.0, 0.05 + 0.5 * robot.spec.gripper.reach]
    _move(robot, above, quat, 1.0, 2.5)
    assert robot.attached() == [] and robot.gripper_width() == SUCTION_OPEN_WIDTH
    _move(robot, above, quat, 0.0, 0.2)
    held_at_grip = robot.attached()
    _move(robot, above + [0.0, 0.0, 0.2], quat, 0.0, 1.5)
    _move(robot, above + [0.1, 0.0, 0.2], quat, 0.0, 1.0)
    lifted = sim.base_pose(box)[0]
    held_lifted = robot.attached()
    width_lifted = robot.gripper_width()
    _move(robot, above + [0.1, 0.0, 0.2], quat, 1.0, 1.0)
    dropped = sim.base_pose(box)[0]
    result = dict(start=start, held_at_grip=held_at_grip, lifted=lifted, held_lifted=held_lifted,
                  width_lifted=width_lifted, dropped=dropped, released=robot.attached(), box=box)
    sim.close()
    return result


def _assert_picked_and_released(r):
    assert r["held_at_grip"] == [r["box"]]
    assert r["held_lifted"] == [r["box"]] and r["width_lifted"] == 0.0
    assert r["lifted"][2] - r["start"][2] == pytest.approx(0.2, abs=0.02)
    assert r["lifted"][0] - r["start"][0] == pytest.approx(0.1, abs=0.02)
    assert r["released"] == []
    assert r["dropped"][2] == pytest.approx(r["start"][2], abs=0.01)   # back on the table
    assert r["dropped"][0] - r["start"][0] == pytest.approx(0.1, abs=0.02)


def test_suction_picks_a_box_up_and_releases_it():
    _assert_picked_and_released(_pick_and_place("ur5e", 0.5))


@pytest.mark.parametrize("name", ["iiwa7", "xarm6"])
def test_suction_picks_and_releases_on_every_suction_robot(name):
    _assert_picked_and_released(_pick_and_place(name, 0.5))


def test_suction_cannot_hold_more_than_its_force():
    """A 15 kg box weighs 147 N, more than the UR5e cup's 100 N: it is gripped, slides
    off the cup and stays behind on the table."""
    r = _pick_and_place("ur5e", 15.0)
    assert r["held_at_grip"] == [r["box"]]
    assert r["held_lifted"] == []
    assert r["lifted"][2] < r["start"][2] + 0.02


def test_suction_ignores_bodies_out_of_reach():
    sim, robot, box = _suction_cell("ur5e", 0.5)
    try:
        robot.command_gripper(0.0)
        _run(robot, 0.5)     # home TCP is ~0.39 m above the box
        assert robot.attached() == [] and robot.gripper_width() == SUCTION_OPEN_WIDTH
    finally:
        sim.close()


# ------------------------------------------------------------------ observations
@pytest.mark.parametrize("name", [r for r in ROBOTS if r != "panda"])
def test_observations_have_the_same_keys_for_every_robot(tmp_path, name):
    from simulator.env import CellEnv

    data = yaml.safe_load((ROOT / "scenarios" / "handover.yaml").read_text())
    data["id"] = "any_robot"
    data["robots"] = ROBOTS
    path = tmp_path / "any_robot.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    keys = {}
    for robot in ("panda", name):
        env = CellEnv(str(path), robot=robot)
        try:
            obs, _ = env.reset(seed=0)
            assert env.observation_space.contains(obs), robot
            obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
            keys[robot] = set(obs)
        finally:
            env.close()
    assert keys["panda"] == keys[name]


# ------------------------------------------------------------------ the UR5e URDF
UR5E_DH = dict(d=(0.1625, 0, 0, 0.1333, 0.0997, 0.0996), a=(0, -0.425, -0.3922, 0, 0, 0),
               alpha=(math.pi / 2, 0, 0, math.pi / 2, -math.pi / 2, 0))


def ur_dh_forward(q) -> np.ndarray:
    """UR's standard DH forward kinematics: the flange pose (4 x 4) in the base frame."""
    t = np.eye(4)
    for theta, d, a, alpha in zip(q, UR5E_DH["d"], UR5E_DH["a"], UR5E_DH["alpha"]):
        ct, st, ca, sa = math.cos(theta), math.sin(theta), math.cos(alpha), math.sin(alpha)
        t = t @ np.array([[ct, -st * ca, st * sa, a * ct],
                          [st, ct * ca, -ct * sa, a * st],
                          [0, sa, ca, d],
                          [0, 0, 0, 1]])
    return t


def test_ur5e_urdf_matches_ur_dh_kinematics():
    spec, _ = load_spec(RobotSpec, robots_dir() / "ur5e" / "robot.yaml")
    rng = np.random.default_rng(11)
    with Sim() as sim:
        robot = Robot(sim, spec, robots_dir() / "ur5e")
        for _ in range(5):
            q = rng.uniform(-math.pi, math.pi, 6)
            robot.reset(q)
            pos, quat = sim.link_state(robot.body, robot.ee_link)   # the physics' own frame
            dh = ur_dh_forward(q)
            assert np.linalg.norm(pos - dh[:3, 3]) < 1e-3
            assert np.abs(quat_to_matrix(quat) - dh[:3, :3]).max() < 1e-3


def test_ur5e_urdf_masses_are_urs():
    with Sim() as sim:
        body = sim.load_urdf("ur5e", str(robots_dir() / "ur5e" / "ur5e.urdf"), fixed_base=True)
        masses = [sim.link_mass(body, j) for j in range(sim.num_joints(body))]
    assert masses == pytest.approx([3.761, 8.058, 2.846, 1.37, 1.3, 0.365, 0.0])
