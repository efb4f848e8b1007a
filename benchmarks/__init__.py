"""Benchmarks: suites, runner, metrics and the performance harness (perf/)."""
