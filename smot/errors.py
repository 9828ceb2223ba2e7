"""Typed errors. Library code raises these; only the CLI turns them into one line and an exit code.

| exit | class          | meaning                                                      |
|------|----------------|--------------------------------------------------------------|
| 1    | (any other)    | an internal error: a bug in smot (run with --debug, report) |
| 2    | UsageError     | options that do not fit together (click uses 2 as well)      |
| 3    | InputError     | input missing, unreadable or invalid                         |
| 4    | OutputError    | output cannot be written                                     |
| 5    | EnvironmentErr | a runtime requirement is missing (Java, a GPU, a package)    |
| 130  |                | interrupted (Ctrl-C, SIGTERM)                                |
"""

from __future__ import annotations


class SmotError(Exception):
    """An error the user can act on: `message (where)` and an optional hint."""

    exit_code = 1

    def __init__(self, message: str, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.where})" if self.where else self.message


class UsageError(SmotError):
    exit_code = 2


class InputError(SmotError):
    exit_code = 3


class OutputError(SmotError):
    exit_code = 4


class EnvironmentErr(SmotError):
    exit_code = 5


class RecordError(ValueError):
    """A record failed validation. The reader adds where it was found and raises InputError."""
