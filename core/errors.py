"""User-facing errors: one exception type that the CLI prints as one line and exits 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix (bad flag, unknown scenario, unreadable file).

    The CLI prints ``str(error)`` on one line without a traceback and exits with code 2.
    Bugs must raise anything else so that they keep their traceback.
    """

    exit_code = 2
