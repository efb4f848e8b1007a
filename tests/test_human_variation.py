"""People who vary: scaled bodies, drawn persons, reactions to the robot, distractions."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from simulator import catalogue
from simulator.errors import SpecError
from simulator.human import Reach
from simulator.human.behaviour import Behaviour
from simulator.human.person import build_human, draw_person, person_record
from simulator.physics import Sim
from simulator.spec.human import DistractionSpec, HumanSpec, ReactionSpec, VariationsSpec
from simulator.spec.schema import from_mapping
from tests.people import DT, SUBSTEPS, make, run

HANDOVER = Path(catalogue.scenario_path("handover"))


def _scenario(tmp_path, human_changes: dict, name: str = "handover") -> Path:
    """The handover scenario with ``human_changes`` merged into its human block, written
    to tmp_path/<name>.yaml."""
    data = yaml.safe_load(HANDOVER.read_text())
    data["id"] = name
    data["human"].update(human_changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


# ----------------------------------------------------------------------------- bodies
@pytest.mark.parametrize("body, height, mass", [("p05_female", 1.62, 58.0),
                                                ("p50_male", 1.92, 120.0)])
def test_height_and_mass_give_the_asked_stature_and_mass(body, height, mass):
    sim = Sim()
    sim.load_urdf("floor", "plane.urdf", fixed_base=True)
    human = build_human(sim, HumanSpec(body=body, height=height, mass=mass))
    assert human.table.body.sex == ("female" if body.startswith("p05") else "male")
    masses = [sim.dynamics_info(human.body_id, l.index)["mass"] for l in human.links]
    # the de Leva fractions of the table sum to 1 within 1e-4 (rounding of the table)
    assert sum(masses) == pytest.approx(mass, rel=2e-4)
    head = human.link("head")
    top = human.link_positions()[4, 2] + (head.length - head.radius) / 2 + head.radius
    assert top == pytest.approx(height, abs=2e-3)            # the standing person's stature
    # segments scale with the stature (lengths) and the mass (masses) of the same tables
    ref = build_human(Sim(), HumanSpec(body=body))
    for a, b in zip(human.links, ref.links):
        assert a.length / b.length == pytest.approx(height / ref.table.body.stature)
        assert a.mass / b.mass == pytest.approx(mass / ref.table.body.mass)
    sim.close()


def test_height_alone_keeps_the_reference_mass():
    spec = HumanSpec(body="p95_male", height=1.70)
    rec = person_record(spec)
    assert rec["height"] == 1.70 and rec["mass"] == 108.9 and rec["sex"] == "male"


# ----------------------------------------------------------------------------- drawing
VARIED = from_mapping(HumanSpec, {"variations": {
    "body": ["p05_female", "p50_male", "p95_male"], "speed_factor": [0.8, 1.2],
    "handedness": ["left", "right"], "gait_speed": [1.0, 1.6],
    "reaction": ["none", "stop", "retreat"], "reaction_time": [0.2, 0.5]}})


def test_same_seed_same_person_other_seeds_other_people():
    first = draw_person(VARIED, np.random.default_rng(5))
    assert draw_person(VARIED, np.random.default_rng(5)) == first
    people = {json.dumps(person_record(draw_person(VARIED, np.random.default_rng(s))),
                         sort_keys=True) for s in range(8)}
    assert len(people) == 8
    assert 0.8 <= first.speed_factor <= 1.2 and 1.0 <= first.gait_speed <= 1.6
    assert 0.2 <= first.reaction.reaction_time <= 0.5
    bodies = {draw_person(VARIED, np.random.default_rng(s)).body for s in range(30)}
    assert bodies == {"p05_female", "p50_male", "p95_male"}


def test_no_variations_draw_nothing():
    rng = np.random.default_rng(3)
    spec = HumanSpec()
    assert draw_person(spec, rng) is spec
    assert rng.uniform() == np.random.default_rng(3).uniform()  # the stream is untouched


@pytest.mark.parametrize("key, value, problem", [
    ("speed_factor", [1.2, 0.8], "reversed"),
    ("gait_speed", [1.0, 1.0], "empty"),
    ("height", [1.5, 3.5], "within"),
    ("body", [], "non-empty"),
    ("body", ["p99_giant"], "p99_giant"),
    ("reaction", ["flee"], "flee"),
    ("mass", [50.0], "list of 2"),
])
def test_bad_variations_fail_at_load_naming_file_and_key(tmp_path, key, value, problem):
    path = _scenario(tmp_path, {"variations": {key: value}})
    with pytest.raises(SpecError) as err:
        catalogue.load_scenario(str(path))
    assert err.value.file == str(path) and err.value.key == f"human.variations.{key}"
    assert problem in str(err.value)


def test_a_distraction_needs_a_point(tmp_path):
    path = _scenario(tmp_path, {"distraction": {"rate": 0.5}})
    with pytest.raises(SpecError, match="human.distraction: a distraction with rate > 0 needs"):
        catalogue.load_scenario(str(path))


def test_handover_defaults_are_unchanged():
    spec, _ = catalogue.load_scenario("handover")
    h = spec.human
    assert (h.height, h.mass, h.speed_factor, h.gait_speed) == (None, None, 1.0, None)
    assert h.reaction.behaviour == "none" and h.distraction.rate == 0.0 and h.variations.empty


# ----------------------------------------------------------------------------- env
def _rollout(env, seed, steps=25):
    obs, info = env.reset(seed=seed)
    keypoints = [obs["human_keypoints"]]
    zero = np.zeros(env.action_space.shape)
    for _ in range(steps):
        obs, *_ = env.step(zero)
        keypoints.append(obs["human_keypoints"])
    return info["person"], np.array(keypoints)


def test_env_draws_the_person_per_seed_bit_identically(tmp_path):
    from simulator.env import CellEnv

    path = _scenario(tmp_path, {"variations": {"body": ["p05_female", "p95_male"],
                                               "speed_factor": [0.8, 1.2],
                                               "handedness": ["left", "right"]}})
    env = CellEnv(str(path))
    try:
        a_person, a = _rollout(env, 11)
        header = env.trace_header()
        assert json.loads(header["person"]) == a_person and header["human_body"] == a_person["body"]
        assert env.human.total_mass == pytest.approx(a_person["mass"], rel=2e-4)
        assert env.human.handedness == a_person["handedness"]
        assert env.task.side == a_person["handedness"]     # the task sees the drawn person
        others = [_rollout(env, s)[0] for s in (12, 13, 14, 15)]
        b_person, b = _rollout(env, 11)
        assert b_person == a_person and np.array_equal(a, b)
        assert any(o != a_person for o in others)
    finally:
        env.close()
    fresh = CellEnv(str(path))   # the first episode of a new env is the same episode
    try:
        c_person, c = _rollout(fresh, 11)
        assert c_person == a_person and np.array_equal(a, c)
    finally:
        fresh.close()


def test_handover_keeps_its_person_and_records_it():
    from simulator.env import CellEnv

    env = CellEnv("handover")
    try:
        _, info = env.reset(seed=0)
        assert info["person"]["body"] == "p50_male" and info["person"]["height"] == 1.756
        assert env.human.behaviour is None and env.human.speed_factor == 1.0
    finally:
        env.close()


def test_env_reaction_watches_the_separation_monitors_distance(tmp_path):
    """In the env the reaction uses the monitor's closest robot-person distance of the
    last control step; with a distance larger than the cell, the person stops after
    reaction_time (0.1 s = 2 control steps) plus at most one control step."""
    from simulator.env import CellEnv

    path = _scenario(tmp_path, {"reaction": {"behaviour": "stop", "distance": 4.0,
                                             "reaction_time": 0.1}})
    env = CellEnv(str(path))
    try:
        env.reset(seed=0)
        behaviour = env.human.behaviour
        zero = np.zeros(env.action_space.shape)
        distances = []
        for _ in range(5):
            _, _, _, _, info = env.step(zero)
            distances.append(info["safety"]["ssm"]["distance"])
        assert behaviour.state == "stopped"
        t_stop = behaviour.reactions[0][0]
        assert 0.1 - 1e-9 <= t_stop <= 0.1 + env.dt + 1e-9
        assert behaviour.distance == distances[-2]       # the last step's monitor value
    finally:
        env.close()


# ----------------------------------------------------------------------------- reactions
def _with_robot(behaviour: str, reaction_time=0.2, distance=0.4):
    """A person reaching forward and a box standing in for the robot, far away."""
    sim, human = make()
    robot = sim.create_body("robot", "box", (0.05, 0.05, 0.05), 0.0, (3.0, 0.0, 1.2))
    human.behaviour = Behaviour(ReactionSpec(behaviour=behaviour, distance=distance,
                                             reaction_time=reaction_time, retreat_distance=0.3,
                                             retreat_speed=0.5), DistractionSpec(), "right",
                                sim, robot)
    human.behaviour.start(None)
    target = human.shoulder_position("right") + np.array([0.45, -0.05, 0.0])
    human.set_program(Reach(target, side="right", speed=0.25))
    return sim, human, robot


def test_reaction_stop_freezes_the_hand_and_resumes():
    sim, human, robot = _with_robot("stop", reaction_time=0.2)
    run(sim, human, 0.5)
    # the robot arrives 0.3 m in front of the person's palm (within distance 0.4 m)
    palm = human.palm_position("right")
    sim.reset_base_pose(robot, palm + np.array([0.35, 0.0, 0.0]))
    t_close = sim.time
    palms, times, states = [], [], []

    def each():
        palms.append(human.palm_position("right"))
        times.append(sim.time)
        states.append(human.behaviour.state)
    run(sim, human, 1.5, each)
    t_stop = human.behaviour.reactions[0][0]
    assert human.behaviour.reactions[0][1] == "stopped"
    assert t_close + 0.2 - 1e-9 <= t_stop <= t_close + 0.2 + DT + 1e-9
    # from then on the targets are frozen: after 0.3 s to settle the palm stays put
    palms, times = np.array(palms), np.array(times)
    settled = palms[times > t_stop + 0.3]
    assert np.linalg.norm(settled - settled[0], axis=1).max() < 0.005
    before = palms[times < t_stop]
    assert np.linalg.norm(np.diff(before, axis=0), axis=1).max() > 0.002  # it was moving
    assert human.program.phase == "reach"                                   # paused, not done
    # the robot leaves: after reaction_time the reach continues and ends
    sim.reset_base_pose(robot, (3.0, 0.0, 1.2))
    run(sim, human, 3.0)
    assert [s for _, s in human.behaviour.reactions] == ["stopped", "program"]
    assert human.program.phase == "hold"
    sim.close()


def test_reaction_retreat_steps_away_and_returns():
    sim, human, robot = _with_robot("retreat", reaction_time=0.1)
    run(sim, human, 0.3)
    home, _ = human.root_target
    sim.reset_base_pose(robot, human.palm_position("right") + np.array([0.3, 0.0, 0.0]))

    def gap():
        return min(p.distance for p in sim.closest_points(robot, human.body_id, 2.0))
    d0 = gap()
    run(sim, human, 1.5)
    assert human.behaviour.state == "retreat"
    xy, _ = human.root_target
    assert np.linalg.norm(xy - home) == pytest.approx(0.3, abs=1e-6)
    assert xy[0] < home[0]                                   # away from the robot (-x)
    assert gap() > d0 + 0.2                                  # the distance grew
    sim.reset_base_pose(robot, (3.0, 0.0, 1.2))
    run(sim, human, 1.5)
    assert [s for _, s in human.behaviour.reactions] == ["retreat", "return", "program"]
    assert human.root_target[0] == pytest.approx(home)
    sim.close()


# ----------------------------------------------------------------------------- distraction
def test_distraction_reaches_the_point_at_seeded_times():
    sim, human = make()
    point = np.array([0.45, -0.2, 1.15])
    spec = DistractionSpec(rate=0.5, duration=0.5, point=tuple(point), speed=0.6)
    human.behaviour = Behaviour(ReactionSpec(), spec, "right", sim, None)
    human.behaviour.start(np.random.default_rng(4))
    from simulator.human import Idle
    human.set_program(Idle())
    near = []
    run(sim, human, 12.0, each=lambda: near.append(
        (sim.time, np.linalg.norm(human.palm_position("right") - point),
         human.behaviour.label)))
    starts = human.behaviour.distractions
    assert len(starts) >= 2
    # the first wait is the first exponential draw of the seeded generator (mean 1/rate)
    first = np.random.default_rng(4).exponential(2.0)
    assert starts[0] == pytest.approx(first, abs=DT + 1e-9)
    for t0 in starts:   # each one brings the palm to the point
        during = [d for t, d, label in near if t0 < t < t0 + 3.0 and label == "distracted"]
        assert min(during) < 0.03
    # and between them the hand is back at its side
    idle = [d for t, d, label in near if label == "program" and t > starts[0]]
    assert min(idle) > 0.3
    # the same seed gives the same times
    sim2, human2 = make()
    human2.behaviour = Behaviour(ReactionSpec(), spec, "right", sim2, None)
    human2.behaviour.start(np.random.default_rng(4))
    human2.set_program(Idle())
    run(sim2, human2, 12.0)
    assert human2.behaviour.distractions == starts
    sim.close()
    sim2.close()


@pytest.mark.slow
def test_env_with_reaction_and_distraction_runs_deterministically(tmp_path):
    from simulator.env import CellEnv
    from simulator.policies import make_policy

    path = _scenario(tmp_path, {"reaction": {"behaviour": "stop", "distance": 0.3,
                                             "reaction_time": 0.2},
                                "distraction": {"rate": 0.2, "duration": 1.0,
                                                "point": [0.7, -0.1, 1.0]}})
    env = CellEnv(str(path))
    try:
        runs = []
        for _ in range(2):
            policy = make_policy("scripted", env)
            obs, info = env.reset(seed=3)
            policy.reset(3)
            keys = []
            for _ in range(200):
                obs, _, term, trunc, info = env.step(policy.act(obs))
                keys.append(obs["human_keypoints"])
                if term or trunc:
                    break
            runs.append((np.array(keys), list(env.human.behaviour.reactions),
                         list(env.human.behaviour.distractions)))
        assert np.array_equal(runs[0][0], runs[1][0]) and runs[0][1:] == runs[1][1:]
        assert runs[0][1], "the robot came within 0.3 m during the handover: a reaction"
    finally:
        env.close()


def test_speed_factor_scales_hand_speed_and_gait_speed_sets_walking():
    from simulator.human import Walk

    times = {}
    for factor in (1.0, 2.0):
        sim, human = make()
        human.speed_factor = factor
        target = human.shoulder_position("right") + np.array([0.4, -0.1, 0.0])
        program = Reach(target, side="right", speed=0.2)
        human.set_program(program)
        n = 0
        while program.phase != "hold" and n < 400:
            human.update(sim.time, DT)
            sim.step(SUBSTEPS)
            n += 1
        times[factor] = sim.time
        assert program._path.speed == pytest.approx(0.2 * factor)
        sim.close()
    assert times[2.0] < 0.7 * times[1.0]
    sim, human = make()
    human.gait_speed = 0.5
    walk = Walk([(3.0, 0.0)], speed=1.5)
    human.set_program(walk)
    run(sim, human, 2.0)
    assert walk.speed == 0.5 and human.root_target[0][0] < 1.0   # 1.5 m/s would be ~2.4 m
    sim.close()


def test_person_spec_with_everything_builds():
    spec = replace(from_mapping(HumanSpec, {
        "body": "p05_female", "height": 1.6, "mass": 55.0, "speed_factor": 1.3,
        "gait_speed": 1.2, "reaction": {"behaviour": "retreat"},
        "distraction": {"rate": 0.1, "point": [0.5, 0.0, 1.0]}}), variations=VariationsSpec())
    sim = Sim()
    human = build_human(sim, spec)
    assert human.speed_factor == 1.3 and human.gait_speed == 1.2
    assert isinstance(human.behaviour, Behaviour) and human.behaviour.side == "right"
    sim.close()
