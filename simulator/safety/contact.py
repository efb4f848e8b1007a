"""The power-and-force-limiting contact monitor (ISO/TS 15066 Annex A).

:class:`ContactMonitor` reads the robot-human contacts after every physics step and
reports, per (robot link, human link) pair in contact:

* a :class:`ContactSample` per substep: summed normal force F
  (N), body region and nearest specific area (:mod:`simulator.safety.areas`), contact
  kind, pressure p = F / A (Pa) with A from the robot link's :class:`ContactSurface`, the
  limits that apply (:mod:`simulator.safety.limits`) and ratio = max(F/F_lim, p/p_lim);
* a :class:`ContactEvent` per continuous contact, with peaks;
* an :class:`ImpactPrediction` at the onset of each contact.

Kind. A contact is quasi-static (clamping) when the same human link is at that moment
also pressed against the robot's push by another part of the robot system or by a fixed
body: another robot link (a hand between two links, or between the fingers), a part the
robot holds, a fixture (table, conveyor) or the floor. The other push and the robot's push
on the link point against each other, cosine < -0.3 (:data:`CLAMP_COSINE`; a foot standing
on the floor while the robot pushes the shin sideways is not clamped, a hand pressed down
onto the table is; ISO/TS 15066 counts a body part trapped between a moving part of the
robot system and another fixed *or moving* part). It is
also quasi-static once it has lasted longer than ``transient_window`` (default 0.5 s):
this is measurement practice (the first ~0.5 s after onset treated as the transient
phase, RIA TR R15.806, DGUV), not a number of ISO/TS 15066. Otherwise it is transient.
An event is quasi-static if it ever was. Contacts of the person with their own body or
with movable objects are not counted as clamping.

Continuity. A pair that loses contact for at most ``gap_tolerance`` s (default 0.02 s:
rebounds of one strike, and the solver separating the surfaces for a step) continues the
same event; the event ends at the last substep in contact.

Monitors only read the world: the monitor never changes the simulation.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from simulator.safety.areas import AreaMap
from simulator.safety.geometry import cross_one, rotate_one
from simulator.safety.impact import (max_relative_speed, reflected_mass, standard_robot_mass,
                                     two_body_peak_force)
from simulator.safety.limits import (DEFAULT_SURFACE, QUASI_STATIC, TRANSIENT, ContactSurface,
                                     LimitTable, resolve_surfaces)
from simulator.safety.records import (ContactEvent, ContactSample, ImpactPrediction,
                                      SpeedLimitSample, ratio_to_limits)

log = logging.getLogger(__name__)

PAYLOAD_LINK = 10_000  # pseudo robot-link numbers of held parts start here

CLAMP_COSINE = -0.3          # robot push · fixed-body push below this: clamped
TRANSIENT_WINDOW = 0.5       # s, measurement practice (see the module docstring)
GAP_TOLERANCE = 0.02         # s
SETTLE_TIME = 0.1            # s after a contact during which the person's motion is read
                             # after every physics step (see _remember_person)
QUERY_DISTANCE = 0.5         # m, search radius of the per-control-step speed sample
PRE_CONTACT_RANGE = 0.3      # m: closer than this at the last control step, read the
                             # contacts and keep the person's link motion of every substep


@dataclass(frozen=True)
class NearestRegion:
    """The nearest body region at the last control step, as a shield needs it: the 3 × n
    linear Jacobian (world, m/rad) of the robot's nearest point at the current joint
    positions, the unit direction ``u`` from that point to the person, the person's
    velocity along ``u`` (m/s; negative: coming towards the robot), and v_rel,max (m/s)."""

    jacobian: np.ndarray
    u: np.ndarray
    human_along_u: float
    v_rel_max: float


@dataclass
class _Open:
    """A contact in progress (internal)."""

    start: float
    last_seen: float
    quasi_static: bool = False
    peak_force: float = 0.0
    peak_pressure: float = 0.0
    peak: ContactSample | None = None


class ContactMonitor:
    """Watches the contacts between one robot and one person (see the module docstring).

    Args:
        sim: the physics world (read only).
        robot: the :class:`~simulator.robot.Robot` (``body``, ``jacobian``, ``mass_matrix``,
            ``joint_state``, ``spec.moving_mass``, ``spec.payload``).
        human: the :class:`~simulator.human.Human` (``body_id``, ``links``, ``handedness``).
        fixed_bodies: ids of bodies that cannot move (floor, table, fixtures): clamping.
        limits: the limit table (default: the shipped ISO/TS 15066 data).
        robot_surfaces: :class:`ContactSurface` by robot link name; undeclared links get
            :data:`~simulator.safety.limits.DEFAULT_SURFACE`.
        transient_window: s after onset when a contact counts as quasi-static.
        handedness: ``"left"``/``"right"`` (default: the person's).
        payload: m_L in kg for M/2 + m_L (default: the robot's rated payload, the
            conservative choice when the actual tool and part are not known).
        gap_tolerance: s a pair may lose contact and continue the same event.
        springs: the cell's :class:`~simulator.contact_springs.ContactSprings`: its
            records of each physics step are the contacts read (force, point, area and
            the approach speed at the start of the step); ``None``: read Bullet's contact
            points between the bodies (bare worlds without springs).
    """

    def __init__(self, sim, robot, human, fixed_bodies=(), limits: LimitTable | None = None,
                 robot_surfaces: dict[str, ContactSurface] | None = None,
                 transient_window: float = TRANSIENT_WINDOW, handedness: str | None = None,
                 payload: float | None = None, gap_tolerance: float = GAP_TOLERANCE,
                 springs=None) -> None:
        if not transient_window > 0 or gap_tolerance < 0:
            raise ValueError(f"transient_window must be > 0 and gap_tolerance >= 0 (s), got "
                             f"{transient_window!r}, {gap_tolerance!r}")
        self.sim, self.robot, self.human, self.springs = sim, robot, human, springs
        self.fixed_bodies = [int(b) for b in fixed_bodies]
        self.limits = limits if limits is not None else LimitTable.from_body_model()
        self.transient_window, self.gap_tolerance = float(transient_window), float(gap_tolerance)
        self.areas = AreaMap(human, handedness)
        self._link_names = {j.index: j.link_name for j in sim.joints(robot.body)}
        self._link_names[-1] = "base"
        self.surfaces = resolve_surfaces(robot_surfaces or {}, self._link_names.values())
        m_l = robot.spec.payload if payload is None else float(payload)
        self.standard_mass = standard_robot_mass(robot.spec.moving_mass, m_l)
        self._human_links = [l.index for l in human.links]
        # each person link's centre-of-mass frame in its link frame (position m, quaternion)
        self._inertial = {l: tuple(np.asarray(v, float) for v in sim.inertial_frame(human.body_id, l))
                          for l in self._human_links}
        self.pre_contact_range = PRE_CONTACT_RANGE  # m; the env narrows it per control step
        # the person's link motion at the last control step (links, ComStates) and its
        # time (s); None: read it after every physics step (see _remember_person)
        self.person_motion = None
        self._person_motion_time: float | None = None
        self._payload: list[tuple[int, int]] = []
        self._payload_keys: dict[int, int] = {}
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        """Forget every open contact, record and remembered state (start of an episode)."""
        self.samples: list[ContactSample] = []
        self.events: list[ContactEvent] = []
        self.impacts: list[ImpactPrediction] = []
        self.speed_samples: list[SpeedLimitSample] = []
        self._open: dict[tuple[int, int], _Open] = {}
        self._nearest: float | None = None      # m, at the last control step (None: unknown)
        self._drained = {"samples": 0, "events": 0, "impacts": 0, "speed_samples": 0}
        self._person_before = None  # (links, ComStates) after the last physics step
        self._last_touch = -math.inf  # s, the last physics step with a robot-person contact
        self._skipped = False  # substeps not read since the last control step (far apart)
        self.nearest: NearestRegion | None = None

    def attach(self) -> None:
        """Call :meth:`on_substep` after every physics step of ``sim``."""
        self.sim.add_post_step(lambda: self.on_substep(self.sim.time))

    def finish(self, t: float) -> None:
        """Close every open contact (end of the episode at time ``t``, s)."""
        for key in list(self._open):
            self._close(key)

    def drain(self) -> dict[str, list]:
        """The records added since the last call, by kind (for ``info`` and traces)."""
        out = {}
        for name, start in self._drained.items():
            items = getattr(self, name)
            out[name] = items[start:]
            self._drained[name] = len(items)
        return out

    # ------------------------------------------------------------------ payload
    def set_payload(self, bodies) -> None:
        """The bodies the robot holds now, as ``(body id, name)`` pairs (once per control
        step). Their contacts with the person count as robot contacts, reported with the
        robot link ``payload:<name>``, the default contact surface (1 cm² flat) and the end
        effector's Jacobian for the impact prediction (the part taken as rigidly held)."""
        self._payload = []
        for body, name in bodies:
            key = self._payload_keys.setdefault(int(body), PAYLOAD_LINK + len(self._payload_keys))
            label = f"payload:{name}"
            self._link_names[key] = label
            self.surfaces.setdefault(label, DEFAULT_SURFACE)
            self._payload.append((int(body), key))

    def payload_link(self, body: int) -> int | None:
        """The pseudo robot-link number of a held part (None if it is not held)."""
        return next((key for b, key in self._payload if b == body), None)

    def set_person_motion(self, t: float, links, states) -> None:
        """The person's link motion at time ``t`` (s), read by another monitor this control
        step: ``states`` a :class:`~simulator.physics.ComStates` (with orientation and
        velocities) of ``links``. It serves as the pre-contact state of the person until
        the next call (see :meth:`_remember_person`) and spares reading their pose again now."""
        self.person_motion, self._person_motion_time = (list(links), states), float(t)

    # ------------------------------------------------------------------ per substep
    def on_substep(self, t: float) -> list[ContactSample]:
        """Read the contacts of the last physics step (time ``t``, s); returns the samples.

        While the robot and the person were farther apart at the last control step than
        ``pre_contact_range`` (m; the env sets it to how far they can close in within one
        control step) and no contact is open, no contact can start: nothing is read. The
        next control step checks this (:meth:`control_step_samples`)."""
        if self._far() and not self._open:
            self._skipped, self._person_before = True, None
            return []
        return self._read(t)

    def _far(self) -> bool:
        return self._nearest is not None and self._nearest > self.pre_contact_range

    def _contact_groups(self) -> dict[tuple[int, int], list]:
        """The contacts of the last physics step by (robot link, human link): the robot's
        springs, and Bullet's contact points of a held part (the robot link
        ``payload:<name>``)."""
        groups: dict[tuple[int, int], list] = {}
        robot = (self.springs.contacts if self.springs is not None
                 else self.sim.contacts(self.robot.body, self.human.body_id))
        for c in robot:
            if c.normal_force > 0.0:
                groups.setdefault((c.link_a, c.link_b), []).append(c)
        for body, key in self._payload:
            for c in self.sim.contacts(body, self.human.body_id):
                if c.normal_force > 0.0:
                    groups.setdefault((key, c.link_b), []).append(c)
        return groups

    def _read(self, t: float) -> list[ContactSample]:
        groups = self._contact_groups()
        fixed = self._fixed_pushes() if groups else {}
        robot_pushes = self._robot_pushes(groups)
        on_link: dict[int, float] = {}  # every robot part's force on each human link, N
        for (_, human_link), points in groups.items():
            on_link[human_link] = on_link.get(human_link, 0.0) + sum(c.normal_force for c in points)
        out = []
        for key, points in groups.items():
            others = [push for other, push in robot_pushes.get(key[1], ()) if other != key[0]]
            out.append(self._sample(t, key, points, {key[1]: fixed.get(key[1], []) + others},
                                    on_link[key[1]]))
        for key, state in list(self._open.items()):
            if key not in groups and t - state.last_seen > self.gap_tolerance + 1e-12:
                self._close(key)
        if self.springs is None or self._payload:  # springs carry their own approach speed
            self._person_before = self._remember_person()
        self.samples.extend(out)
        return out

    def _sample(self, t: float, key: tuple[int, int], points, fixed,
                link_force: float | None = None) -> ContactSample:
        robot_link, human_link = key
        f = np.array([c.normal_force for c in points])
        force = float(f.sum())
        on_human = (f[:, None] * np.array([c.position_on_b for c in points])).sum(0) / force
        on_robot = (f[:, None] * np.array([c.position_on_a for c in points])).sum(0) / force
        normal = (f[:, None] * np.array([c.normal for c in points])).sum(0)
        normal /= np.linalg.norm(normal)            # from the person towards the robot
        area_id = (points[0].area_id if hasattr(points[0], "area_id")
                   else self._area(human_link, on_human))
        limit = self.limits.area(area_id)
        state = self._open.get(key)
        if state is None:
            state = self._open[key] = _Open(start=t, last_seen=t)
            self.impacts.append(self._predict(t, key, on_robot, on_human, normal, limit,
                                              getattr(points[0], "approach_speed", None)))
        state.last_seen = self._last_touch = t
        clamped = any(np.dot(-normal, push) < CLAMP_COSINE for push in fixed.get(human_link, ()))
        quasi = clamped or (t - state.start) > self.transient_window
        state.quasi_static = state.quasi_static or quasi
        kind = QUASI_STATIC if quasi else TRANSIENT
        surface = self.surfaces[self._link_names[robot_link]]
        pressure = force / surface.area_m2
        f_lim, p_lim = limit.limits(kind)
        link_force = force if link_force is None else link_force
        sample = ContactSample(t, self._link_names[robot_link], self.areas.link_names[human_link],
                               limit.region_id, area_id, kind, force, pressure, surface.area_m2,
                               f_lim, p_lim, ratio_to_limits(link_force, pressure, f_lim, p_lim),
                               link_force)
        state.peak_force = max(state.peak_force, force)
        state.peak_pressure = max(state.peak_pressure, pressure)
        if state.peak is None or sample.ratio > state.peak.ratio:
            state.peak = sample
        return sample

    def _close(self, key: tuple[int, int]) -> None:
        s = self._open.pop(key)
        p = s.peak
        self.events.append(ContactEvent(
            s.start, s.last_seen, p.robot_link, p.human_link, p.region, p.area_id,
            QUASI_STATIC if s.quasi_static else TRANSIENT, s.peak_force, s.peak_pressure,
            p.force_limit, p.pressure_limit, p.ratio, p.ratio > 1.0))

    def _area(self, human_link: int, world_point, motion=None) -> int:
        """The area of ``human_link`` nearest to ``world_point`` (m, world), with the link's
        pose read now or taken from ``motion`` ((links, ComStates) of the same instant)."""
        if motion is None:
            pos, orn = self.sim.link_state(self.human.body_id, human_link)
            inv_pos, inv_orn = self.sim.invert_transform(pos, orn)
            local, _ = self.sim.multiply_transforms(inv_pos, inv_orn, world_point, (0, 0, 0, 1))
        else:  # centre-of-mass frame -> link frame, in numpy
            links, states = motion
            row = links.index(human_link)
            com_pos, com_orn = states.position[row], states.orientation[row]
            in_com = rotate_one(com_orn, np.asarray(world_point, float) - com_pos, inverse=True)
            offset, offset_orn = self._inertial[human_link]
            local = offset + rotate_one(offset_orn, in_com)
        return self.areas.nearest(human_link, local)[0]

    @staticmethod
    def _robot_pushes(groups) -> dict[int, list[tuple[int, np.ndarray]]]:
        """Per human link, (robot link, direction) of every push of a part of the robot
        system this step (robot links, held parts; world, unit): a body part pressed by
        one of them against another is trapped as it is against a table."""
        out: dict[int, list[tuple[int, np.ndarray]]] = {}
        for (robot_link, human_link), points in groups.items():
            push = -sum(c.normal_force * np.asarray(c.normal, float) for c in points)
            norm = float(np.linalg.norm(push))
            if norm > 0.0:
                out.setdefault(human_link, []).append((robot_link, push / norm))
        return out

    def _fixed_pushes(self) -> dict[int, list[np.ndarray]]:
        """Per human link, the directions in which fixed bodies push it (world, unit)."""
        out: dict[int, list[np.ndarray]] = {}
        for body in self.fixed_bodies:
            for c in self.sim.contacts(self.human.body_id, body):
                if c.normal_force > 0.0:   # normal on the fixed body, towards the person
                    out.setdefault(c.link_a, []).append(np.asarray(c.normal))
        return out

    # ------------------------------------------------------------------ impact
    def _remember_person(self):
        """The person's link motion after this step, the pre-contact state of a contact
        that starts in the next one.

        Read only while a contact is open or ended less than :data:`SETTLE_TIME` ago (the
        robot is then moving the person, whose motion changes within a control step), or
        when ``person_motion`` is None. Before
        a first touch the env's ``person_motion``, the motion at the last control step (at
        most one control step, 50 ms at 20 Hz, before the onset, while only the person's
        own smooth drive moves them), is used instead: reading 15 links after each of up
        to 240 fine physics steps per control step would cost more than the physics. The
        robot's pre-contact joint state needs no reading here: its drive reads it before
        every physics step (:meth:`~simulator.robot.Robot.pre_step_state`)."""
        touched = self._open or self.sim.time - self._last_touch < SETTLE_TIME
        if self.person_motion is not None and not touched:
            return None
        links = self._human_links
        return links, self.sim.link_com_states(self.human.body_id, links, velocity=True)

    def _point_motion(self, robot_link: int, on_robot, human_link: int, on_human, state):
        """Robot point velocity (J(q)·q̇), human point velocity (v + ω × r), the Jacobian
        and the mass matrix at ``state`` (pre-contact when available), world frame."""
        q, qd, (links, motion) = state
        if human_link not in links:  # not remembered: its state now
            links, motion = [human_link], self.sim.link_com_states(
                self.human.body_id, [human_link], velocity=True)
        row = links.index(human_link)
        com, lin, ang = motion.position[row], motion.linear[row], motion.angular[row]
        v_human = lin + cross_one(ang, np.asarray(on_human, float) - com)
        if robot_link >= PAYLOAD_LINK:  # a held part moves with the end effector
            robot_link = self.robot.ee_link
        if robot_link < 0:     # the fixed base
            return np.zeros(3), v_human, None, None
        com = self.sim.link_com_states(self.robot.body, [robot_link])
        com_pos, com_orn = com.position[0], com.orientation[0]
        local = rotate_one(com_orn, np.asarray(on_robot, float) - com_pos, inverse=True)
        jac = self.robot.jacobian(q, robot_link, local)[:3]
        return jac @ qd, v_human, jac, self.robot.mass_matrix(q)

    def _robot_model(self, robot_link: int, on_robot, q):
        """The linear Jacobian of the robot point ``on_robot`` (world, m) of ``robot_link``
        and the mass matrix, at joint positions ``q``; (None, None) on the fixed base."""
        if robot_link >= PAYLOAD_LINK:  # a held part moves with the end effector
            robot_link = self.robot.ee_link
        if robot_link < 0:
            return None, None
        com = self.sim.link_com_states(self.robot.body, [robot_link])
        local = rotate_one(com.orientation[0], np.asarray(on_robot, float) - com.position[0],
                           inverse=True)
        return self.robot.jacobian(q, robot_link, local)[:3], self.robot.mass_matrix(q)

    def _predict(self, t, key, on_robot, on_human, normal, limit,
                 approach=None) -> ImpactPrediction:
        robot_link, human_link = key
        if approach is not None:  # a spring's: at the start of the contact's first step
            q, _ = self.robot.pre_step_state()
            jac, mass = self._robot_model(robot_link, on_robot, q)
            speed = float(approach)
        else:
            person = self._person_before or self.person_motion or ((), None)
            state = (*self.robot.pre_step_state(), person)
            v_robot, v_human, jac, mass = self._point_motion(robot_link, on_robot, human_link,
                                                             on_human, state)
            speed = float(np.dot(v_robot - v_human, -normal))   # > 0: approaching
        m_r = math.inf if jac is None else reflected_mass(jac, mass, normal)
        k, m_h = limit.spring_constant, limit.effective_mass
        return ImpactPrediction(t, self._link_names[robot_link], self.areas.link_names[human_link],
                                limit.region_id, limit.area_id, speed, m_r, self.standard_mass,
                                two_body_peak_force(speed, k, m_h, m_r),
                                two_body_peak_force(speed, k, m_h, self.standard_mass),
                                limit.limits(TRANSIENT)[0])

    # ------------------------------------------------------------------ per control step
    def control_step_samples(self, t: float, query_distance: float = QUERY_DISTANCE,
                             closest=None) -> list[SpeedLimitSample]:
        """The largest permitted relative speed towards the nearest body region (time ``t``).

        The nearest robot-human point pair within ``query_distance`` m
        (``Sim.closest_points``) gives the robot link, the human link and area, and the
        direction u from the robot point to the human point. v_rel,max is Annex A's
        (lower of force and pressure form) with the robot's reflected mass along u at the
        robot point, the region's k and m_H and the robot link's contact area; transient
        limits apply unless a fixed body pushes that human link against u (then a strike
        would clamp: quasi-static). Returns [] when nothing is within range.

        ``closest``: the nearest robot-human point pair (a :class:`~simulator.physics.Contact`
        with the robot as body A) if another monitor has already computed it this control
        step (the separation monitor does), so that the distance query is not repeated."""
        c = closest
        if c is None:
            points = self.sim.closest_points(self.robot.body, self.human.body_id, query_distance)
            c = min(points, key=lambda p: p.distance) if points else None
        self._nearest = query_distance if c is None else float(c.distance)
        if self._skipped:
            self._skipped = False
            if c is not None and c.distance <= 0.0:  # the closing-speed bound failed
                log.warning("t=%.4f s: robot and person touch after a control step whose "
                            "contacts were not read (closer than %.4f m expected); reading "
                            "them now", t, self.pre_contact_range)
                self._read(t)
        self.nearest = None
        if c is None:
            return []
        u = -np.asarray(c.normal, dtype=float)          # robot -> person
        now = self.person_motion if self._person_motion_time == t else None
        area_id = self._area(c.link_b, c.position_on_b, now)
        limit = self.limits.area(area_id)
        clamped = any(np.dot(u, push) < CLAMP_COSINE for push in self._fixed_pushes().get(c.link_b, ()))
        kind = QUASI_STATIC if clamped else TRANSIENT
        v_robot, v_human, jac, mass = self._point_motion(c.link_a, c.position_on_a, c.link_b,
                                                         c.position_on_b,
                                                         (*self.robot.joint_state(),
                                                          now or ((), None)))
        m_r = math.inf if jac is None else reflected_mass(jac, mass, u)
        f_lim, p_lim = limit.limits(kind)
        area = self.surfaces[self._link_names[c.link_a]].area_m2
        k, m_h = limit.spring_constant, limit.effective_mass
        v_max = max_relative_speed(f_lim, k, m_h, m_r, p_lim, area)
        v_std = max_relative_speed(f_lim, k, m_h, self.standard_mass, p_lim, area)
        approach = float(np.dot(v_robot - v_human, u))
        if jac is not None:  # for a shield capping the approach (simulator.safety.shields)
            self.nearest = NearestRegion(jac, u, float(np.dot(v_human, u)), v_max)
        sample = SpeedLimitSample(t, self._link_names[c.link_a], self.areas.link_names[c.link_b],
                                  limit.region_id, area_id, kind, float(c.distance), approach,
                                  m_r, self.standard_mass, v_max, v_std,
                                  ratio_to_limits(approach, 0.0, v_max, math.inf))
        self.speed_samples.append(sample)
        return [sample]
