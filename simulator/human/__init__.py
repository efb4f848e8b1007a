"""The physical person of a cell and the motion programs that drive it."""
from simulator.human.body import GRASP_MAX_FORCE, GRASP_RADIUS, Human
from simulator.human.layout import JOINT_TORQUE, HumanLink
from simulator.human.motion import Handover, Idle, Reach, Walk
from simulator.human.behaviour import Behaviour
from simulator.human.bvh import BvhError, load_bvh, parse_bvh
from simulator.human.clip import Clip

__all__ = ["Human", "HumanLink", "Idle", "Reach", "Handover", "Walk", "JOINT_TORQUE",
           "GRASP_RADIUS", "GRASP_MAX_FORCE", "Behaviour", "Clip", "BvhError", "load_bvh",
           "parse_bvh"]
