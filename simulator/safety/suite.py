"""The safety monitors of one episode, built from the scenario's ``safety`` block.

:class:`SafetyMonitors` creates the monitors, runs them once per control step (the
contact monitor runs after every physics step by itself), and gives the env what
Gymnasium's contract carries: ``info["safety"]`` (each monitor's new samples and
events) and named costs whose sum is ``info["cost"]``. At the end of an episode it gives
the trace its tables (every contact sample, impact prediction, event, and the limit table
the episode ran under). Monitors only read the world.

Costs, per control step, each 0 or 1:

``contact``     a robot-human contact exceeded its force or pressure limit;
``separation``  the separation was below S_p while the robot moved;
``speed``       the TCP exceeded a speed limit or entered a keep-out zone.
"""
from __future__ import annotations

import dataclasses
import json
import math

import h5py
import numpy as np

from simulator.errors import SpecError
from simulator.physics import ComStates, Contact
from simulator.safety.contact import QUERY_DISTANCE, ContactMonitor
from simulator.safety.limits import ContactSurface, LimitTable
from simulator.safety.records import UNITS, ContactSample, ImpactPrediction, SpeedLimitSample
from simulator.safety.separation import SeparationMonitor, UnsafeStartError
from simulator.safety.speed import REDUCED_SPEED, SpeedMonitor, SpeedZone
from simulator.safety.ssm import SsmParameters, StoppingData

COSTS = ("contact", "separation", "speed")
EVENT_FIELDS = (("monitor", str), ("kind", str), ("start", float), ("end", float),
                ("region", str), ("value", float), ("limit", float), ("violated", bool),
                ("details", str))
EVENT_UNITS = {"start": "s", "end": "s", "value": "see details", "limit": "see details"}


def _dtype(fields) -> np.dtype:
    kinds = {str: h5py.string_dtype(), float: "f8", int: "i8", bool: "?"}
    return np.dtype([(name, kinds[tp]) for name, tp in fields])


def record_dtype(cls) -> np.dtype:
    """The HDF5 table type of a record dataclass (str, float, int and bool fields)."""
    tps = {"str": str, "float": float, "int": int, "bool": bool}
    return _dtype([(f.name, tps[f.type if isinstance(f.type, str) else f.type.__name__])
                   for f in dataclasses.fields(cls)])


class SafetyMonitors:
    """Args:
        cell: the cell (its sim, robot, human and fixed bodies).
        spec: the scenario's :class:`~simulator.spec.safety.SafetySpec`.
        file: the scenario file (for error messages).
    """

    def __init__(self, cell, spec, file: str = "<scenario>") -> None:
        self.spec = spec
        sim, robot, human = cell.sim, cell.robot, cell.human
        self.limits = LimitTable.from_body_model()
        self._sim, self._bodies = sim, (robot.body, human.body_id)
        self._springs = cell.springs
        self.contact = self.separation = self.speed = None
        if spec.contact.enabled:
            surfaces = {s.link: ContactSurface(s.kind, s.area_cm2, s.edge_radius_mm)
                        for s in robot.spec.contact_surfaces}
            links = {j.link_name for j in sim.joints(robot.body)}
            for i, s in enumerate(robot.spec.contact_surfaces):
                if s.link not in links:
                    raise SpecError(f"robots/{robot.spec.id}/robot.yaml",
                                    f"contact_surfaces[{i}].link", s.link,
                                    f"a link of the URDF: {', '.join(sorted(links))}")
            self.contact = ContactMonitor(sim, robot, human, cell.fixed_bodies, self.limits,
                                          surfaces, spec.contact.transient_window,
                                          human.handedness, springs=cell.springs)
            self.contact.attach()
        if spec.separation.enabled:
            self.ssm_parameters = self._ssm_parameters(spec.separation, robot.spec, file)
            self.separation = SeparationMonitor(sim, robot, human, self.ssm_parameters,
                                                tracked=spec.separation.tracked)
        if spec.speed.enabled:
            limit = REDUCED_SPEED if spec.speed.reduced_speed else spec.speed.limit
            zones = [SpeedZone(z.name, z.lower, z.upper, z.speed_limit, z.keep_out)
                     for z in spec.speed.zones]
            self.speed = SpeedMonitor(robot, limit, zones)
        self._events: list[dict] = []
        self._new_events: list[dict] = []

    @staticmethod
    def _ssm_parameters(sep, robot_spec, file: str) -> SsmParameters:
        common = dict(reaction_time=sep.reaction_time, intrusion_distance=sep.intrusion_distance,
                      human_uncertainty=sep.human_uncertainty,
                      robot_uncertainty=sep.robot_uncertainty, human_speed_default=sep.human_speed)
        if sep.deceleration is not None:
            return SsmParameters(braking="constant_deceleration", deceleration=sep.deceleration,
                                 **common)
        if not robot_spec.stopping:
            raise SpecError(file, "safety.separation.deceleration", None,
                            f"a deceleration (m/s²), since robot {robot_spec.id!r} has no "
                            "stopping data (robot.yaml 'stopping')")
        rows = [(r.speed, r.time, r.distance) for r in robot_spec.stopping]
        return SsmParameters(braking="stopping_data", stopping=StoppingData.from_rows(rows), **common)

    # ------------------------------------------------------------------ episode
    def start(self) -> None:
        """Check the episode does not start unsafe (raises UnsafeStartError): no robot-person
        contact, and (with the separation monitor) the person outside S_p."""
        touching = [c for c in self._sim.closest_points(*self._bodies, 0.0) if c.distance < 0.0]
        if touching:
            raise UnsafeStartError(f"the episode starts with the robot touching the person "
                                   f"({len(touching)} link pairs overlap)")
        if self.separation is not None:
            self.separation.check_start()

    def control_step(self, t: float, dt: float) -> tuple[dict, dict[str, float]]:
        """Run the per-control-step monitors for the state at ``t`` + ``dt`` (s); returns
        ``info["safety"]`` and the named costs."""
        safety: dict = {}
        costs = dict.fromkeys(COSTS, 0.0)
        if self.separation is not None:
            sample = self.separation.on_control_step(t, dt)
            safety["ssm"] = sample.as_dict()
            costs["separation"] = float(sample.violation)
            self._add_events(e.as_dict() for e in self.separation.pop_events())
        if self.speed is not None:
            sample = self.speed.on_control_step(t, dt)
            safety["speed"] = sample.as_dict()
            costs["speed"] = float(bool(sample.violations))
            self._add_events(e.as_dict() for e in self.speed.pop_events())
        if self.contact is not None:
            if self.separation is not None:  # the person's motion, read by the separation
                distance = self.separation.distance
                pos, lin, ang = distance.kinematics_b
                self.contact.set_person_motion(t + dt, distance.links_b,
                                               ComStates(pos, distance.frames_b[1], lin, ang))
            self.contact.control_step_samples(t + dt, closest=self._shared_pair())
            new = self.contact.drain()
            safety["contact"] = {k: [r.as_record() for r in v] for k, v in new.items()}
            costs["contact"] = float(any(s.ratio > 1.0 for s in new["samples"]))
            self._add_events({"monitor": "pfl", "kind": e.kind, **e.as_record()} for e in new["events"])
        safety["events"], self._new_events = self._new_events, []
        return safety, costs

    def set_payload(self, bodies) -> None:
        """The ``(body id, name)`` pairs the robot holds now: their contacts with the person
        are robot contacts (see :meth:`ContactMonitor.set_payload`)."""
        if self.contact is not None:
            self.contact.set_payload(bodies)
        if self.separation is not None:
            self.separation.set_payload(bodies)

    def expect_contact_within(self, reach: float) -> None:
        """No robot-person contact can start in the next control step unless they are
        closer than ``reach`` (m) now: lets the contact monitor skip reading contacts on
        every physics step when they are farther apart."""
        if self.contact is not None:
            self.contact.pre_contact_range = reach

    def _shared_pair(self) -> Contact | None:
        """The separation monitor's closest robot-person pair of this control step, in the
        form the contact monitor takes (None: let it query; nothing within its range)."""
        pair = getattr(self.separation, "last_pair", None)
        if pair is None or not pair.exact or pair.distance > QUERY_DISTANCE:
            return None
        body, link = self.separation.last_body, pair.link_a
        if body != self._bodies[0]:  # a held part: the contact monitor's name for it
            link = self.contact.payload_link(body)
            if link is None:
                return None
        return Contact(body, self._bodies[1], link, pair.link_b, tuple(pair.point_a),
                       tuple(pair.point_b), tuple(pair.normal), pair.distance, 0.0)

    def _add_events(self, events) -> None:
        events = list(events)
        self._events.extend(events)
        self._new_events.extend(events)

    def finish(self, t: float) -> None:
        """Close every open interval at the end of the episode (``t``, s)."""
        for monitor in (self.contact, self.separation, self.speed):
            if monitor is not None:
                monitor.finish(t)
        if self.separation is not None:
            self._add_events(e.as_dict() for e in self.separation.pop_events())
        if self.speed is not None:
            self._add_events(e.as_dict() for e in self.speed.pop_events())
        if self.contact is not None:
            self._add_events({"monitor": "pfl", **e.as_record()}
                             for e in self.contact.drain()["events"])

    # ------------------------------------------------------------------ trace
    def tables(self) -> dict[str, tuple[list[dict], np.dtype, dict]]:
        """Trace tables: path -> (records, dtype, units)."""
        out = {"/safety/events": ([_event_row(e) for e in self._events], _dtype(EVENT_FIELDS),
                                  EVENT_UNITS),
               "/safety/limits": ([_no_none(r) for r in self.limits.as_records()], None,
                                  self.limits.record_units())}
        if self.contact is not None:
            for path, cls, items in (("/safety/contacts", ContactSample, self.contact.samples),
                                     ("/safety/impacts", ImpactPrediction, self.contact.impacts),
                                     ("/safety/speed_limits", SpeedLimitSample,
                                      self.contact.speed_samples)):
                out[path] = ([r.as_record() for r in items], record_dtype(cls), UNITS)
        return out

    def config(self) -> str:
        """The monitor configuration as JSON (a root attribute of the trace)."""
        from simulator.spec.schema import to_mapping
        return json.dumps(to_mapping(self.spec), sort_keys=True)


def _no_none(record: dict) -> dict:
    """NaN for None (a transient limit that does not exist: contact not permitted)."""
    return {k: (math.nan if v is None else v) for k, v in record.items()}


def _event_row(event: dict) -> dict:
    """One row of /safety/events from any monitor's event dict."""
    monitor = event.get("monitor", "")
    if monitor == "pfl":
        value, limit = event["peak_ratio"], 1.0
    elif monitor == "ssm":
        value, limit = event["min_margin"], 0.0
    else:
        value, limit = event.get("peak_speed", math.nan), event.get("limit", math.nan)
    return {"monitor": monitor, "kind": str(event.get("kind", "")),
            "start": float(event["start"]), "end": float(event["end"]),
            "region": str(event.get("region", event.get("human_region", ""))),
            "value": float(value), "limit": float(limit if limit is not None else math.nan),
            "violated": bool(event.get("violated", True)),
            "details": json.dumps(_finite(event), sort_keys=True, default=float)}


def _finite(event: dict) -> dict:
    """Standard JSON has no infinity: a ratio against a zero limit (contact not permitted)
    is written as the string "inf"."""
    return {k: ("inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in event.items()}
