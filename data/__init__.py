"""Shipped data of cobotsim (data only; installed as the package cobotsim_data)."""
