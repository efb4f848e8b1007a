"""Shipped scenarios of cobotsim (data only; installed as the package cobotsim_scenarios)."""
