"""A person standing alone in a bare world, for the tests of the human model."""
from __future__ import annotations

from simulator.human import Human
from simulator.physics import Sim

DT = 1.0 / 60.0  # control step, s
SUBSTEPS = 8     # physics steps per control step (Sim default 1/480 s)


def make(body="p50_male", position=(0.0, 0.0), yaw=0.0):
    """A Sim with a floor and a person; returns (sim, human)."""
    sim = Sim()
    sim.load_urdf("floor", "plane.urdf", fixed_base=True)
    return sim, Human(sim, "human", body=body, position=position, yaw=yaw)


def run(sim, human, seconds: float, each=None) -> None:
    """Advance ``seconds`` in control steps of DT, calling ``each()`` after every one."""
    for _ in range(int(round(seconds / DT))):
        human.update(sim.time, DT)
        sim.step(SUBSTEPS)
        if each is not None:
            each()
