"""URDF contact parameters: listed by check-robot, and kept out of robot-person contacts."""
from __future__ import annotations

import json
import subprocess
import sys

from simulator import catalogue
from simulator.robot_contacts import NOTE, urdf_contact_tags


def test_the_pandas_fingers_declare_a_contact_spring():
    spec = catalogue.load_robot("panda")
    tags = urdf_contact_tags(spec.urdf_path(catalogue.robot_folder("panda")))
    by_link = {t["link"]: t for t in tags}
    assert set(by_link) == {"panda_leftfinger", "panda_rightfinger"}
    assert all(t["stiffness"] == 30000.0 and t["damping"] == 1000.0 for t in tags)


def test_a_urdf_without_contacts_or_that_does_not_parse_gives_none(tmp_path):
    plain = tmp_path / "plain.urdf"
    plain.write_text('<robot name="r"><link name="a"/></robot>')
    broken = tmp_path / "broken.urdf"
    broken.write_text("<robot")
    assert urdf_contact_tags(plain) == [] and urdf_contact_tags(broken) == []
    assert urdf_contact_tags(tmp_path / "missing.urdf") == []


def test_check_robot_reports_them_with_what_they_act_on():
    out = subprocess.run([sys.executable, "-m", "simulator", "check-robot", "panda", "--json"],
                         capture_output=True, text=True, check=False)
    report = json.loads(out.stdout)
    assert report["ok"] and len(report["urdf_contacts"]) == 2
    assert report["urdf_contacts_note"] == NOTE


def test_robot_and_person_never_touch_through_bullet():
    """The robot-person contact is the area spring only: Bullet's contact points between
    the two bodies stay empty while the springs carry the force."""
    import numpy as np
    from simulator.env import CellEnv
    from simulator.control import POSITION_STEP

    env = CellEnv("handover")
    try:
        obs, _ = env.reset(seed=0)
        for _ in range(60):
            obs, *_ = env.step(np.zeros(7, dtype=np.float32))
        row = env.human_link_names.index("forearm_right")
        goal = obs["human_keypoints"][row].astype(float) + np.array([0.1, 0.1, 0.0])
        springs, bullet = 0, 0
        for _ in range(40):
            step = np.clip((goal - obs["ee_pos"]) / POSITION_STEP, -0.6, 0.6)
            obs, *_ = env.step(np.array([*step, 0, 0, 0, -1], dtype=np.float32))
            springs += len(env.cell.springs.contacts)
            bullet += len(env.sim.contacts(env.robot.body, env.human.body_id))
        assert springs > 0 and bullet == 0
    finally:
        env.close()
