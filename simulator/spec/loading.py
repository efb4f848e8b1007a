"""Reading YAML files into spec dataclasses, with errors that name the file and key."""
from __future__ import annotations

from pathlib import Path

import yaml

from simulator.errors import SpecError
from simulator.spec.schema import from_mapping


def read_yaml(path: str | Path):
    """Parse a YAML file; a syntax error names the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(path), "", f"an unreadable file ({exc.strerror})", "a readable YAML file") from exc
    return parse_yaml(text, str(path)), text


def parse_yaml(text: str, file: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown position)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(file, where, f"malformed YAML ({problem})", "valid YAML") from exc


def load_spec(cls, path: str | Path):
    """Load ``cls`` from a YAML file; returns ``(spec, text)``."""
    data, text = read_yaml(path)
    return from_mapping(cls, data, str(path)), text
