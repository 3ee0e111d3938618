"""Failures at start-up that a person must fix: main.py prints their one line and exits.

The exit codes are product (README's "Exit codes"): a service manager or a script tells a
configuration to fix (2) from a service that is down and may come back (3).
"""

from __future__ import annotations


class StartupError(Exception):
    """The tower cannot start; the message says what failed and what to do."""

    exit_code = 1


class ConfigurationError(StartupError):
    """Something configured is wrong (a path, a file, a database name, a schema): exit 2."""

    exit_code = 2


class ServiceUnavailable(StartupError):
    """A service the tower needs does not answer (the database server): exit 3."""

    exit_code = 3


def one_line(exc: BaseException) -> str:
    """An error's message on one line (psycopg's and OpenSSL's span several)."""
    return " ".join(str(exc).split())
