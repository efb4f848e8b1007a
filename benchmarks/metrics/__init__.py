"""Metrics: every column of the episode table from a trace file alone, and the suite's
statistics from the table (docs/benchmarks.md).

* :func:`episode_row` (``benchmarks.metrics.columns``) - one row per trace;
* :func:`summarize` and :func:`format_table` (``benchmarks.metrics.summary``) - rates with
  95 % Wilson intervals, spreads, paired differences;
* :func:`wilson`, :func:`paired_proportions`, :func:`paired_mean`
  (``benchmarks.metrics.stats``).

``cobotsim metrics TRACE... [--json]`` prints the rows of any traces.
"""
from benchmarks.metrics.columns import COLUMNS, VOLATILE, empty_row, episode_row, same_row
from benchmarks.metrics.stats import paired_mean, paired_proportions, wilson
from benchmarks.metrics.summary import MIN_EPISODES, format_table, json_ready, summarize

__all__ = ["COLUMNS", "MIN_EPISODES", "VOLATILE", "empty_row", "episode_row", "format_table",
           "json_ready", "paired_mean", "paired_proportions", "same_row", "summarize", "wilson"]
