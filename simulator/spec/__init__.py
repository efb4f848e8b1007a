"""Spec dataclasses (robot, scenario) and their YAML loading."""
