"""The cobotsim version, written into every trace."""
__version__ = "0.1.0"
