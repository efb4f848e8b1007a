"""Errors that name what is wrong, where, and what was expected."""
from __future__ import annotations


class CobotsimError(Exception):
    """Base class of cobotsim's own errors."""


class DataError(CobotsimError, ValueError):
    """A reference data file (CSV in ``data/``) is malformed."""


INCONSISTENT = object()  # ``found`` of a SpecError about a combination of keys


class ConfigError(CobotsimError, ValueError):
    """A run was configured with something the chosen scenario, robot or env cannot do."""


class SpecError(CobotsimError, ValueError):
    """A robot or scenario file is malformed.

    Args:
        file: the file that was read (or ``"<dict>"`` for in-memory specs).
        key: the key path inside the file, e.g. ``human.motion.speed``.
        found: what was found there (shown with ``repr``).
        expected: what is allowed, in words.
    """

    def __init__(self, file: str, key: str, found, expected: str) -> None:
        self.file, self.key, self.found, self.expected = str(file), key, found, expected
        where = f"{file}: {key}" if key else str(file)
        if found is INCONSISTENT:
            super().__init__(f"{where}: {expected}")
        else:
            super().__init__(f"{where}: found {found!r}; expected {expected}")


class UnknownNameError(CobotsimError, KeyError):
    """An unknown scenario or robot name; the message lists the known ones."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        self.kind, self.name, self.known = kind, name, known
        super().__init__(f"unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(known)}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]
