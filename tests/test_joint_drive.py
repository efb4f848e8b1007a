"""The person's explicit PD joint drive and its gravity compensation
(simulator.human.joint_drive, simulator.human.gravity)."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.human import JOINT_TORQUE
from simulator.human.joint_drive import MAX_OMEGA_DT, error_matrices, rotation_error
from simulator.human.layout import REVOLUTE, SPHERICAL, segment_name
from tests.people import DT, make, run

BODIES = ("p05_female", "p50_male", "p95_male")
ARM = ("upper_arm_right", "forearm_right", "hand_right")


def hamilton(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a ⊗ b of quaternions (x, y, z, w)."""
    va, wa, vb, wb = a[:3], a[3], b[:3], b[3]
    return np.append(wa * vb + wb * va + np.cross(va, vb), wa * wb - va @ vb)


def reference_error(q: np.ndarray, target: np.ndarray) -> np.ndarray:
    """2·sin(θ/2)·axis of conj(q) ⊗ target, taking the short way (w ≥ 0)."""
    conj = np.array([-q[0], -q[1], -q[2], q[3]])
    p = hamilton(conj, target)
    if p[3] < 0:
        p = -p
    return 2.0 * p[:3]


def random_quats(rng, n: int) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)






# ---------------------------------------------------------------- error law
def test_rotation_error_matches_a_hamilton_product_reference():
    rng = np.random.default_rng(0)
    targets, current = random_quats(rng, 400), random_quats(rng, 400)
    err = rotation_error(error_matrices(targets), current)
    assert err.shape == (400, 3)
    for e, q, t in zip(err, current, targets):
        assert np.allclose(e, reference_error(q, t), atol=1e-12)


def test_rotation_error_is_sign_insensitive_and_short_way():
    rng = np.random.default_rng(1)
    targets, current = random_quats(rng, 100), random_quats(rng, 100)
    m = error_matrices(targets)
    base = rotation_error(m, current)
    assert np.allclose(rotation_error(m, -current), base, atol=1e-12)  # q and -q: same rotation
    assert np.allclose(rotation_error(error_matrices(-targets), current), base, atol=1e-12)
    assert np.all(np.linalg.norm(base, axis=1) <= 2.0 + 1e-12)  # 2·sin(θ/2), θ ≤ π
    assert np.allclose(rotation_error(m, targets), 0.0, atol=1e-12)


@pytest.mark.parametrize("angle", [1e-4, 0.1, 0.5, 2.0, 3.0])
def test_rotation_error_points_from_current_to_target_in_the_current_frame(angle):
    """A target rotated by +angle about the current frame's own axis a gives an error
    2·sin(angle/2)·a (in that frame), and beyond π/2 it keeps its direction."""
    rng = np.random.default_rng(2)
    for q in random_quats(rng, 20):
        a = rng.normal(size=3)
        a /= np.linalg.norm(a)
        local = np.append(a * np.sin(angle / 2), np.cos(angle / 2))
        target = hamilton(q, local)  # q ⊗ local: rotate about the current frame's axis
        e = rotation_error(error_matrices(target[None]), q[None])[0]
        assert np.allclose(e, 2 * np.sin(angle / 2) * a, atol=1e-12)


# ---------------------------------------------------------------- gains and bounds
@pytest.mark.parametrize("body", BODIES)
def test_gains_obey_the_stated_stability_bounds(body):
    sim, human = make(body)
    try:
        drive, dt = human._drive, sim.time_step
        inertia_s, inertia_r = human._joint_inertias()
        assert inertia_s.shape == drive.kp_s.shape == drive.kd_s.shape == (len(SPHERICAL), 3)
        assert inertia_r.shape == drive.kp_r.shape == drive.kd_r.shape == (len(REVOLUTE),)
        for kp, kd, inertia in ((drive.kp_s, drive.kd_s, inertia_s),
                                (drive.kp_r, drive.kd_r, inertia_r)):
            assert np.all(np.isfinite(inertia)) and np.all(inertia > 0)
            assert np.all(kp > 0) and np.all(kd > 0)
            assert np.all(np.sqrt(kp / inertia) * dt <= MAX_OMEGA_DT * (1 + 1e-12))
            assert np.all(kd <= 0.5 * inertia / dt * (1 + 1e-12))
    finally:
        sim.close()


def test_torques_never_exceed_their_bounds_far_from_the_targets():
    sim, human = make()
    try:
        rng = np.random.default_rng(3)
        bound_s = np.array([JOINT_TORQUE[segment_name(n)] for n in SPHERICAL])[:, None]
        bound_r = np.array([JOINT_TORQUE[segment_name(n)] for n in REVOLUTE])
        for name in SPHERICAL:  # 170° about a random axis, all joints at once
            a = rng.normal(size=3)
            a /= np.linalg.norm(a)
            angle = np.radians(170.0)
            human.set_joint(name, np.append(a * np.sin(angle / 2), np.cos(angle / 2)))
        for name, value in zip(REVOLUTE, (2.5, 2.5, 2.4, 2.4)):
            human.set_joint(name, value)
        saturated = []

        def check():
            tau_s, tau_r = human._drive.torques()
            assert np.all(np.isfinite(tau_s)) and np.all(np.isfinite(tau_r))
            assert np.all(np.abs(tau_s) <= bound_s + 1e-9)
            assert np.all(np.abs(tau_r) <= bound_r + 1e-9)
            saturated.append(np.mean(np.isclose(np.abs(tau_s), bound_s)))

        human.update(sim.time, DT)
        check()
        run(sim, human, 0.5, check)
        assert saturated[0] > 0.5  # the bound really was in play
    finally:
        sim.close()


# ---------------------------------------------------------------- gravity compensation
def test_arm_held_horizontally_forward_against_gravity():
    sim, human = make()
    try:
        seg = human.table
        shoulder = human.shoulder_position("right")
        reach = 0.9 * (seg["upper_arm_right"].length + seg["forearm_right"].length)
        target = shoulder + np.array([reach, 0.0, 0.0])  # facing +x, at shoulder height
        assert human.set_arm_target("right", target).reachable
        run(sim, human, 2.0)
        assert sim.gravity == pytest.approx(-9.81)
        assert np.linalg.norm(human.palm_position("right") - target) < 0.02

        # analytic static torque: m·g·d summed over the arm's links about the shoulder
        pivot = human.shoulder_position("right")
        rows = [human.link_names.index(n) for n in ARM]
        coms = human.link_positions()[rows]
        masses = np.array([human.link(n).mass for n in ARM])
        lever = coms - pivot
        assert np.all(lever[:, 0] > 0.05)  # every arm link is out in front
        expected = 9.81 * np.sum(masses * np.hypot(lever[:, 0], lever[:, 1]))

        hold_s, _ = human._gravity.torques()
        row = SPHERICAL.index("upper_arm_right")
        _, orn = sim.link_state(human.body_id, human.link("upper_arm_right").index)
        world = sim.rotation_matrix(orn) @ hold_s[row]  # child frame -> world
        assert np.linalg.norm(world) == pytest.approx(expected, rel=0.15)
        # the hold lifts the arm: about -y for an arm pointing along +x
        assert world[1] < 0 and abs(world[1]) > 0.95 * np.linalg.norm(world)
        # and it is what the drive adds as its feed-forward bias
        human.update(sim.time, DT)
        assert np.allclose(human._drive.bias_s[row], human._gravity.torques()[0][row])
    finally:
        sim.close()
