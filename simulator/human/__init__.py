"""The physical person of a cell and the motion programs that drive it."""
from simulator.human.body import GRASP_MAX_FORCE, GRASP_RADIUS, Human
from simulator.human.layout import JOINT_TORQUE, HumanLink
from simulator.human.motion import Handover, Idle, Reach, Walk

__all__ = ["Human", "HumanLink", "Idle", "Reach", "Handover", "Walk", "JOINT_TORQUE",
           "GRASP_RADIUS", "GRASP_MAX_FORCE"]
