"""Traces: one HDF5 file per episode, the record that metrics, reports and notebooks read.

See ``docs/trace-format.md`` for the file format.
"""
from simulator.traces.reader import Trace, TraceError, iter_traces, read_attrs, read_trace
from simulator.traces.recorder import TraceRecorder
from simulator.traces.writer import (
    PARTIAL_SUFFIX,
    SCHEMA,
    SCHEMA_VERSION,
    STATUSES,
    VOLATILE_ATTRS,
    TraceWriteError,
    TraceWriter,
    partial_path,
)

__all__ = [
    "PARTIAL_SUFFIX", "SCHEMA", "SCHEMA_VERSION", "STATUSES", "VOLATILE_ATTRS",
    "Trace", "TraceError", "TraceRecorder", "TraceWriteError", "TraceWriter",
    "iter_traces", "partial_path", "read_attrs", "read_trace",
]
