"""BVH motion import: parsing, joint names, retargeting onto the body, errors, replay."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from simulator.anthropometry import segment_table
from simulator.human.arm_ik import axis_angle_quat, quat_to_matrix
from simulator.human.bvh import UNMAPPED, BvhError, link_for, load_bvh, parse_bvh
from simulator.human.clip import Clip, retarget
from simulator.human.layout import REVOLUTE, SPHERICAL
from simulator.human.person import clip_path, program_from_spec
from simulator.spec.human import MotionSpec
from tests.people import make, run

# A T-pose skeleton in cm: Y up, facing +Z, X to the character's left; 60 channels. The
# right arm lists its channels as X Z Y (the others Z X Y), to exercise the channel order.
SKELETON = """HIERARCHY
ROOT Hips
{
  OFFSET 0 100 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Spine1
    {
      OFFSET 0 20 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT Neck
      {
        OFFSET 0 25 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        JOINT Head
        {
          OFFSET 0 10 0
          CHANNELS 3 Zrotation Xrotation Yrotation
          End Site
          {
            OFFSET 0 20 0
          }
        }
      }
      JOINT LeftShoulder
      {
        OFFSET 5 20 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        JOINT LeftArm
        {
          OFFSET 15 0 0
          CHANNELS 3 Zrotation Xrotation Yrotation
          JOINT LeftForeArm
          {
            OFFSET 30 0 0
            CHANNELS 3 Zrotation Xrotation Yrotation
            JOINT LeftHand
            {
              OFFSET 25 0 0
              CHANNELS 3 Zrotation Xrotation Yrotation
              End Site
              {
                OFFSET 18 0 0
              }
            }
          }
        }
      }
      JOINT RightShoulder
      {
        OFFSET -5 20 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        JOINT RightArm
        {
          OFFSET -15 0 0
          CHANNELS 3 Xrotation Zrotation Yrotation
          JOINT RightForeArm
          {
            OFFSET -30 0 0
            CHANNELS 3 Zrotation Xrotation Yrotation
            JOINT RightHand
            {
              OFFSET -25 0 0
              CHANNELS 3 Zrotation Xrotation Yrotation
              End Site
              {
                OFFSET -18 0 0
              }
            }
          }
        }
      }
    }
  }
  JOINT LeftUpLeg
  {
    OFFSET 9 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT LeftLeg
    {
      OFFSET 0 -45 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT LeftFoot
      {
        OFFSET 0 -45 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        End Site
        {
          OFFSET 0 -10 10
        }
      }
    }
  }
  JOINT RightUpLeg
  {
    OFFSET -9 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT RightLeg
    {
      OFFSET 0 -45 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT RightFoot
      {
        OFFSET 0 -45 0
        CHANNELS 3 Zrotation Xrotation Yrotation
        End Site
        {
          OFFSET 0 -10 10
        }
      }
    }
  }
}
"""
N_CHANNELS = 60
LEFT_ARM, RIGHT_ARM = 21, 33  # first column of their channels


def motion(phis_deg, frame_time=0.05, root_step=(0.0, 0.0, 0.0)) -> str:
    """The MOTION section: the left arm hangs (Zrotation -90 from the T-pose) and the right
    arm hangs, then swings forward by phi (Xrotation -phi, Zrotation 90); the root moves by
    root_step (cm) per frame."""
    lines = ["MOTION", f"Frames: {len(phis_deg)}", f"Frame Time: {frame_time}"]
    for i, phi in enumerate(phis_deg):
        v = [0.0] * N_CHANNELS
        v[0:3] = [i * root_step[0], 100.0 + i * root_step[1], i * root_step[2]]
        v[LEFT_ARM] = -90.0
        v[RIGHT_ARM], v[RIGHT_ARM + 1] = -phi, 90.0
        lines.append(" ".join(f"{x:.4f}" for x in v))
    return "\n".join(lines) + "\n"


RAISE = SKELETON + motion(np.linspace(0.0, 90.0, 21))   # 0 -> 90 deg over 1 s


def write(tmp_path, text, name="clip.bvh") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- parsing
def test_parse_hierarchy_channels_and_frames(tmp_path):
    clip = load_bvh(write(tmp_path, RAISE))
    names = [j.name for j in clip.joints]
    assert names[:5] == ["Hips", "Spine", "Spine1", "Neck", "Head"] and len(names) == 19
    assert clip.frames.shape == (21, N_CHANNELS) and clip.frame_time == 0.05
    assert clip.duration == pytest.approx(1.0)
    right = clip.joint("RightArm")
    assert right.channels == ["Xrotation", "Zrotation", "Yrotation"] and right.column == RIGHT_ARM
    assert clip.joint("Head").end_site == pytest.approx([0, 20, 0])
    assert clip.rest_positions()[names.index("LeftHand")] == pytest.approx([75, 150, 0])
    # the channel order sets the product: R = Rx(-phi) Rz(90) for the right arm
    rot = clip.rotations()[10, names.index("RightArm")]
    phi, c, s = np.radians(45.0), 0.0, 1.0
    rx = np.array([[1, 0, 0], [0, np.cos(-phi), -np.sin(-phi)], [0, np.sin(-phi), np.cos(-phi)]])
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    assert rot == pytest.approx(rx @ rz, abs=1e-9)


@pytest.mark.parametrize("name, link", [
    ("Hips", "pelvis"), ("mixamorig:Spine", "abdomen"), ("Spine1", "chest"), ("Spine2", None),
    ("Neck", "neck"), ("Head", "head"), ("LeftShoulder", None), ("LeftArm", "upper_arm_left"),
    ("LeftUpArm", "upper_arm_left"), ("RightForeArm", "forearm_right"), ("LeftHand", "hand_left"),
    ("LeftHandIndex1", None), ("LeftUpLeg", "thigh_left"), ("RightLeg", "lower_leg_right"),
    ("LeftFoot", None), ("RightToeBase", None), ("lShin", "lower_leg_left"), ("Tail", UNMAPPED)])
def test_default_name_map(name, link):
    assert link_for(name) == link


def test_truncated_file_names_file_and_line(tmp_path):
    text = RAISE.replace("Frames: 21", "Frames: 25")
    path = write(tmp_path, text)
    with pytest.raises(BvhError) as err:
        load_bvh(path)
    n_lines = len(text.splitlines())
    assert err.value.file == str(path) and err.value.key == f"line {n_lines + 1}"
    assert "frame 22 of the 25 declared" in str(err.value)


def test_frame_with_wrong_number_of_values_names_the_line(tmp_path):
    lines = RAISE.splitlines()
    bad = len(lines) - 5                      # a frame line near the end
    lines[bad] = " ".join(lines[bad].split()[:-1])
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(BvhError, match=rf"clip.bvh: line {bad + 1}: found '59 values'; "
                                       r"expected 60 values in frame 17"):
        load_bvh(path)


def test_malformed_hierarchy_names_the_line(tmp_path):
    text = RAISE.replace("CHANNELS 3 Zrotation Xrotation Yrotation\n    JOINT Spine1",
                         "CHANNELS 2 Zrotation Xrotation\n    JOINT Spine1")
    lines = text.splitlines()
    line = next(i for i, l in enumerate(lines) if "CHANNELS 2" in l) + 1
    with pytest.raises(BvhError, match=rf"line {line}: found 2; expected 3 or 6 channels"):
        parse_bvh(text, "x.bvh")


def test_a_joint_the_body_lacks_is_an_error_naming_file_and_joint(tmp_path):
    text = RAISE.replace("JOINT LeftShoulder", "JOINT LeftWing")
    path = write(tmp_path, text)
    with pytest.raises(BvhError, match=r"clip.bvh: line \d+: found \"joint 'LeftWing'\""):
        retarget(load_bvh(path), segment_table("p50_male"))
    # mapped by the clip's own name map, it is fine
    retarget(load_bvh(path), segment_table("p50_male"), {"LeftWing": "none"})


# ----------------------------------------------------------------------------- retargeting
def test_retarget_accounts_for_the_t_pose_and_scales_the_root():
    clip = parse_bvh(SKELETON + motion(np.linspace(0.0, 90.0, 21), root_step=(0.0, 0.0, 2.0)))
    table = segment_table("p50_male")
    tg = retarget(clip, table)
    right, left = SPHERICAL.index("upper_arm_right"), SPHERICAL.index("upper_arm_left")
    for f, phi in ((0, 0.0), (10, 45.0), (20, 90.0)):
        # T-pose arms rotated down hang in the body's neutral pose; the right arm's swing
        # is a rotation about -y (forward flexion) by phi
        assert tg["spherical"][f, left] == pytest.approx([0, 0, 0, 1], abs=1e-9)
        assert tg["spherical"][f, right] == pytest.approx(
            axis_angle_quat((0.0, -1.0, 0.0), np.radians(phi)), abs=1e-9)
    assert tg["revolute"][:, REVOLUTE.index("forearm_right")] == pytest.approx(0.0, abs=1e-9)
    # leg: 100 cm hip to sole in the clip, thigh + lower leg in the body
    scale = (table["thigh_left"].length + table["lower_leg_left"].length) / 100.0
    assert tg["scale"] == pytest.approx(scale)
    assert tg["root"][20] == pytest.approx([40.0 * scale, 0.0])   # +Z is forward
    assert tg["heading"] == pytest.approx(0.0)


def test_a_turned_root_turns_the_person_and_tilts_go_to_the_trunk():
    lines = (SKELETON + motion([0.0, 0.0, 0.0])).splitlines()
    turn, lean = lines[-2].split(), lines[-1].split()
    turn[5] = "30.0"    # Hips Yrotation: a turn to the left about the vertical
    lean[3] = "20.0"    # Hips Zrotation: a lean about the forward axis
    lines[-2], lines[-1] = " ".join(turn), " ".join(lean)
    tg = retarget(parse_bvh("\n".join(lines) + "\n"), segment_table("p50_male"))
    assert tg["heading"] == pytest.approx([0.0, np.radians(30.0), 0.0])
    abdomen = SPHERICAL.index("abdomen")
    assert tg["spherical"][1, abdomen] == pytest.approx([0, 0, 0, 1], abs=1e-9)
    # the pelvis stays upright: its lean goes to the abdomen (and the hips)
    tilt = quat_to_matrix(tg["spherical"][2, abdomen])
    assert tilt @ [0, 0, 1] == pytest.approx([0.0, -np.sin(np.radians(20)),
                                              np.cos(np.radians(20))], abs=1e-9)
    thigh = quat_to_matrix(tg["spherical"][2, SPHERICAL.index("thigh_left")])
    assert thigh == pytest.approx(tilt, abs=1e-9)


# ----------------------------------------------------------------------------- replay
def _expected_palm(human, shoulder, yaw, phi):
    length = (human.link("upper_arm_right").length + human.link("forearm_right").length
              + human.link("hand_right").length / 2 - human.link("hand_right").radius / 2)
    local = length * np.array([np.sin(phi), 0.0, -np.cos(phi)])
    c, s = np.cos(yaw), np.sin(yaw)
    return shoulder + np.array([c * local[0] - s * local[1], s * local[0] + c * local[1], local[2]])


def test_the_hand_follows_the_clip_within_5_cm_and_holds_within_3_cm():
    """Tolerances: 0.05 m while the arm swings at 1.6 rad/s (the PD drive lags), 0.03 m
    once the last frame is held."""
    sim, human = make(body="p05_female", yaw=0.5)
    shoulder = human.shoulder_position("right")
    program = Clip(parse_bvh(RAISE, "raise.bvh"), loop=False)
    human.set_program(program)
    errors = []

    def each():
        phi = np.radians(90.0 * min(sim.time, 1.0))
        errors.append((sim.time, float(np.linalg.norm(
            human.palm_position("right") - _expected_palm(human, shoulder, 0.5, phi)))))
    run(sim, human, 2.0, each)
    moving = [e for t, e in errors if t <= 1.0]
    held = [e for t, e in errors if t >= 1.5]
    assert max(moving) < 0.05 and max(held) < 0.03
    assert program.phase == "done"
    # the hanging left arm did not move
    assert human.palm_position("left")[2] < shoulder[2] - 0.4
    sim.close()


def test_loop_restarts_and_hold_keeps_the_last_frame():
    class Recorder:
        def __init__(self, human):
            self.human, self.joints = human, {}
            self.table, self.root_target = human.table, human.root_target
            self.speed_factor = 1.0

        def set_joint(self, name, value):
            self.joints[name] = np.array(value, dtype=float)

        def set_root(self, xy, yaw=None):
            self.root = (np.array(xy), yaw)

    sim, human = make()
    clip = parse_bvh(SKELETON + motion(np.linspace(0.0, 90.0, 21), root_step=(0, 0, 1.0)))
    rec = Recorder(human)
    looping, holding = Clip(clip, loop=True), Clip(clip, loop=False)
    looping.start(rec, 0.0)
    holding.start(rec, 0.0)
    looping.update(rec, 0.2, 0.05)
    early = rec.joints["upper_arm_right"]
    looping.update(rec, 1.2, 0.05)          # one loop (1 s) later: the same pose
    assert rec.joints["upper_arm_right"] == pytest.approx(early)
    # ... from the root pose the first loop ended at (20 cm per loop, scaled)
    scale = looping.targets["scale"]
    assert rec.root[0] == pytest.approx([25.0 * scale, 0.0])
    holding.update(rec, 3.0, 0.05)
    assert holding.phase == "done" and rec.root[0] == pytest.approx([20.0 * scale, 0.0])
    assert rec.joints["upper_arm_right"] == pytest.approx(
        axis_angle_quat((0.0, -1.0, 0.0), np.pi / 2), abs=1e-9)
    rec.speed_factor = 2.0                  # twice as fast: at 0.25 s the pose of 0.5 s
    holding.start(rec, 0.0)
    holding.update(rec, 0.2, 0.05)
    assert rec.joints["upper_arm_right"] == pytest.approx(
        axis_angle_quat((0.0, -1.0, 0.0), np.radians(45.0)), abs=1e-6)
    sim.close()


def test_motion_spec_clip_relative_to_the_scenario_folder(tmp_path):
    folder = tmp_path / "cells"
    (folder / "clips").mkdir(parents=True)
    write(folder / "clips", RAISE, "raise.bvh")
    scenario = folder / "mine.yaml"
    motion_spec = MotionSpec(program="clip", clip="clips/raise.bvh", loop=False)
    assert clip_path(motion_spec.clip, scenario) == (folder / "clips" / "raise.bvh").resolve()
    assert clip_path(str(folder / "clips" / "raise.bvh"), scenario) == folder / "clips" / "raise.bvh"
    sim, human = make()
    program = program_from_spec(motion_spec, human, scenario_file=scenario)
    assert isinstance(program, Clip) and not program.loop
    with pytest.raises(ValueError, match="needs a clip"):
        MotionSpec(program="clip")
    sim.close()


def test_clip_keys_load_from_yaml(tmp_path):
    from simulator.spec.schema import from_mapping

    data = yaml.safe_load("program: clip\nclip: a.bvh\nloop: false\nclip_map: {Tail: none}\n")
    spec = from_mapping(MotionSpec, data, "x.yaml", "human.motion")
    assert spec.clip == "a.bvh" and spec.loop is False and spec.clip_map == {"Tail": "none"}


def test_a_scenario_replays_a_clip_next_to_its_file(tmp_path):
    """The crossing cell with the person replaying a clip (written next to the scenario
    file and named relative to it) instead of the walk program: the root moves with it."""
    import yaml
    from simulator import catalogue
    from simulator.env import CellEnv

    frames = 60
    write(tmp_path, SKELETON + motion([0.0] * frames, root_step=(0.0, 0.0, 1.0)), "walk.bvh")
    data = yaml.safe_load(catalogue.scenario_path("crossing").read_text())
    data["human"]["motion"] = {"program": "clip", "clip": "walk.bvh", "loop": False}
    path = tmp_path / "crossing.yaml"
    path.write_text(yaml.safe_dump(data))
    env = CellEnv(str(path))
    try:
        env.reset(seed=0)
        start = env.human.link_positions()[0].copy()
        for _ in range(140):   # the seeded wait, then the 3 s clip
            env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        moved = np.linalg.norm(env.human.link_positions()[0][:2] - start[:2])
        print(f"the pelvis moved {moved:.3f} m with the clip's root (0.6 m × leg-length scale)")
        assert moved > 0.2 and env.human.program.phase in ("clip", "done", "wait")
    finally:
        env.close()
    data["human"]["motion"]["clip"] = "missing.bvh"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(Exception, match="missing.bvh"):
        CellEnv(str(path)).reset(seed=0)
