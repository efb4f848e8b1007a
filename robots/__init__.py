"""Shipped robots of cobotsim (data only; installed as the package cobotsim_robots)."""
