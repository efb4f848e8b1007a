"""Safety monitors (passive: they read the world and report samples and events) and, later,
shields (safety functions that act on the robot command). See docs/safety-monitors.md."""
