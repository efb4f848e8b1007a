"""Typed loading of frozen dataclasses from YAML mappings.

A spec class is a frozen dataclass whose fields carry metadata made with :func:`spec_field`
(unit, description, check). :func:`from_mapping` builds an instance from plain data and
fails on the first problem with a :class:`~simulator.errors.SpecError` naming the file,
the key path, what was found and what is allowed. :func:`to_mapping` is its inverse, so
YAML is only a serialization of the dataclasses.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Callable, Literal, Union, get_args, get_origin, get_type_hints

from simulator.errors import INCONSISTENT, SpecError

_MISSING = dataclasses.MISSING


def spec_field(default=_MISSING, *, unit: str = "", doc: str = "",
               check: Callable[[Any], str | None] | None = None, default_factory=_MISSING):
    """A dataclass field with documentation metadata.

    Args:
        unit: the physical unit of the value (``m``, ``s``, ``rad``, ``kg``, ``N`` ...).
        doc: one line for the authoring guide.
        check: returns ``None`` when the value is fine, else the expectation in words.
    """
    meta = {"unit": unit, "doc": doc, "check": check}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ----------------------------------------------------------------------------- checks
def positive(v) -> str | None:
    return None if v > 0 else "a number > 0"


def non_negative(v) -> str | None:
    return None if v >= 0 else "a number >= 0"


def each_non_negative(v) -> str | None:
    return None if all(x >= 0 for x in v) else "numbers >= 0"


def each_positive(v) -> str | None:
    return None if all(x > 0 for x in v) else "numbers > 0"


def in_range(lo: float, hi: float) -> Callable[[Any], str | None]:
    def check(v) -> str | None:
        return None if lo <= v <= hi else f"a number in [{lo}, {hi}]"
    return check


def non_empty(v) -> str | None:
    return None if len(v) > 0 else "a non-empty value"


# ----------------------------------------------------------------------------- loading
def _type_name(tp) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        names = " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
        return names + " or null" if type(None) in get_args(tp) else names
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_type_name(args[0])}"
        return f"a list of {len(args)} ({', '.join(_type_name(a) for a in args)})"
    if origin is dict:
        return f"a mapping of names to {_type_name(get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return f"a mapping with keys {', '.join(f.name for f in dataclasses.fields(tp))}"
    return {float: "a number", int: "an integer", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _convert(value, tp, file: str, key: str):
    origin = get_origin(tp)
    if tp is typing.Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, file, key)
            except SpecError as exc:
                errors.append(exc)
        nested = [a for a in args if dataclasses.is_dataclass(a)]
        if isinstance(value, dict) and len(nested) == 1 and len(errors) == len(args) - (type(None) in args):
            raise errors[[a for a in args if a is not type(None)].index(nested[0])]  # the key inside
        raise SpecError(file, key, value, _type_name(tp))
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise SpecError(file, key, value, _type_name(tp))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SpecError(file, key, value, _type_name(tp))
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], file, f"{key}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise SpecError(file, key, value, _type_name(tp))
        return tuple(_convert(v, a, file, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, dict):
            raise SpecError(file, key, value, _type_name(tp))
        vt = get_args(tp)[1]
        return {str(k): _convert(v, vt, file, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, file, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is str:
        if isinstance(value, str):
            return value
    raise SpecError(file, key, value, _type_name(tp))


def from_mapping(cls, data, file: str = "<dict>", prefix: str = ""):
    """Build the dataclass ``cls`` from ``data``, validating types, keys and checks."""
    if not isinstance(data, dict):
        raise SpecError(file, prefix or "(top level)", data, _type_name(cls))
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise SpecError(file, key, unknown[0], f"one of the keys {', '.join(fields)}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if f.default is _MISSING and f.default_factory is _MISSING:
                raise SpecError(file, key, "nothing (the key is missing)", _type_name(hints[name]))
            continue
        value = _convert(data[name], hints[name], file, key)
        check = f.metadata.get("check")
        if check is not None and value is not None:
            problem = check(value)
            if problem:
                raise SpecError(file, key, data[name], problem)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ValueError as exc:  # cross-field checks in __post_init__
        raise SpecError(file, prefix or "(top level)", INCONSISTENT, str(exc)) from exc


def to_mapping(obj) -> Any:
    """Plain data (dicts, lists, scalars) for a spec dataclass; inverse of from_mapping."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj


def describe(cls, prefix: str = "") -> list[dict]:
    """Rows (key, type, unit, default, doc) for every key of ``cls``, nested ones included."""
    rows = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        tp = hints[f.name]
        default = ("(required)" if f.default is _MISSING and f.default_factory is _MISSING
                   else f.default if f.default is not _MISSING else to_mapping(f.default_factory()))
        rows.append({"key": key, "type": _type_name(tp), "unit": f.metadata.get("unit", ""),
                     "default": default, "doc": f.metadata.get("doc", "")})
        inner = tp
        if get_origin(tp) in (Union, types.UnionType):
            inner = next(a for a in get_args(tp) if a is not type(None))
        if get_origin(inner) is tuple and get_args(inner)[-1] is Ellipsis:
            inner = get_args(inner)[0]
            key = key + "[]"
        if dataclasses.is_dataclass(inner):
            rows.extend(describe(inner, key))
    return rows
