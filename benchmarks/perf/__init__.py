"""Performance harness: measures cobotsim's speed; results go to docs/performance.md."""
