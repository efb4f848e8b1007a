"""The person of a scenario: who is drawn for an episode, and building them.

* :func:`draw_person` draws the ``human.variations`` of a scenario from the episode's
  generator and returns the :class:`~simulator.spec.human.HumanSpec` of that person
  (without variations: the spec itself, and nothing is drawn, so scenarios without a
  variations block keep their random stream).
* :func:`body_of` turns a spec into the body argument of :class:`Human`: a reference id,
  or ``(stature_m, mass_kg, sex)`` when ``height`` or ``mass`` is set; every segment's
  mass and length then scale from the same de Leva / Drillis-Contini fractions
  (:mod:`simulator.anthropometry`).
* :func:`build_human` builds the person with their speed factor, gait speed and
  behaviour (:mod:`simulator.human.behaviour`).
* :func:`person_record` is what is reported in ``info["person"]`` and the trace header.
* :func:`program_from_spec` builds the motion program of a ``human.motion`` block for
  tasks that run the scenario's program as written (idle, reach, walk, clip).
"""
from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from simulator.anthropometry import body_size
from simulator.human.behaviour import Behaviour
from simulator.human.body import Human

log = logging.getLogger(__name__)

# the order in which variation keys are drawn (fixed: the same seed gives the same person)
DRAW_ORDER = ("body", "height", "mass", "handedness", "speed_factor", "gait_speed", "reaction",
              "reaction_distance", "reaction_time")


def draw_person(spec, rng: np.random.Generator):
    """The person of one episode: ``spec`` (a HumanSpec) with its ``variations`` drawn from
    ``rng``. Choices are drawn with equal probability (``rng.integers``), ranges uniformly
    (``rng.uniform``), one draw per key present, in :data:`DRAW_ORDER`."""
    var = spec.variations
    if var.empty:
        return spec
    changes: dict = {}
    reaction: dict = {}
    for key in DRAW_ORDER:
        options = getattr(var, key)
        if options is None:
            continue
        if isinstance(options[0], str):
            value = options[int(rng.integers(len(options)))]
        else:
            value = float(rng.uniform(options[0], options[1]))
        if key == "reaction":
            reaction["behaviour"] = value
        elif key.startswith("reaction_"):
            reaction["distance" if key == "reaction_distance" else "reaction_time"] = value
        else:
            changes[key] = value
    if reaction:
        changes["reaction"] = replace(spec.reaction, **reaction)
    person = replace(spec, **changes)
    log.debug("person drawn: %s", person_record(person))
    return person


def body_of(spec):
    """The ``body`` argument of :class:`Human` for a HumanSpec: the reference id, or
    ``(stature_m, mass_kg, sex)`` with ``height``/``mass`` replacing the reference body's
    (the sex, and so the segment fractions, stay the reference body's)."""
    if spec.height is None and spec.mass is None:
        return spec.body
    ref = body_size(spec.body)
    return (spec.height if spec.height is not None else ref.stature,
            spec.mass if spec.mass is not None else ref.mass, ref.sex)


def build_human(sim, spec, name: str = "human", robot_body: int | None = None) -> Human:
    """Build the person of ``spec`` (a HumanSpec) in ``sim``; ``robot_body`` is the robot
    whose distance the reaction watches."""
    human = Human(sim, name, body=body_of(spec), position=spec.position,
                  yaw=math.radians(spec.yaw_deg), handedness=spec.handedness)
    human.speed_factor = float(spec.speed_factor)
    human.gait_speed = None if spec.gait_speed is None else float(spec.gait_speed)
    if spec.reaction.behaviour != "none" or spec.distraction.rate > 0:
        human.behaviour = Behaviour(spec.reaction, spec.distraction, spec.handedness, sim,
                                    robot_body)
    return human


def person_record(spec) -> dict:
    """The drawn person as plain data: body, stature (m), mass (kg), sex, handedness,
    speed_factor, gait_speed (m/s or None), reaction and distraction settings."""
    size = body_size(body_of(spec))
    r, d = spec.reaction, spec.distraction
    return {"body": spec.body, "height": round(size.stature, 6), "mass": round(size.mass, 6),
            "sex": size.sex, "handedness": spec.handedness,
            "speed_factor": spec.speed_factor, "gait_speed": spec.gait_speed,
            "reaction": {"behaviour": r.behaviour, "distance": r.distance,
                         "reaction_time": r.reaction_time, "retreat_distance": r.retreat_distance,
                         "retreat_speed": r.retreat_speed},
            "distraction": {"rate": d.rate, "duration": d.duration,
                            "point": None if d.point is None else list(d.point),
                            "side": d.side, "speed": d.speed}}


def clip_path(clip: str, scenario_file=None) -> Path:
    """A ``motion.clip`` path: absolute as written, else relative to the scenario file's
    folder (to the working directory without a scenario file)."""
    path = Path(clip).expanduser()
    if path.is_absolute() or scenario_file is None:
        return path
    return Path(scenario_file).resolve().parent / path


def program_from_spec(motion, human: Human, rng: np.random.Generator | None = None,
                      scenario_file=None):
    """The motion program of a ``human.motion`` block (a MotionSpec) for ``human``:
    ``idle``, ``reach``, ``walk`` or ``clip`` (``handover`` needs a task's object and is
    built by the handover task)."""
    from simulator.human.motion import Idle, Reach, Walk

    side = human.handedness if motion.side == "dominant" else motion.side
    if motion.program == "idle":
        return Idle(amplitude=motion.sway_amplitude, rng=rng)
    if motion.program == "reach":
        return Reach(motion.point, side=side, speed=motion.speed)
    if motion.program == "walk":
        return Walk(motion.path, speed=motion.speed)
    if motion.program == "clip":
        from simulator.human.clip import Clip
        from simulator.human.bvh import load_bvh
        return Clip(load_bvh(clip_path(motion.clip, scenario_file)), loop=motion.loop,
                    name_map=motion.clip_map)
    raise ValueError(f"motion program {motion.program!r} is built by its task, not here")
