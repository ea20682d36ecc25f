"""The one error every use case raises: a message that says what is wrong and what to do."""

from __future__ import annotations

from typing import Final

#: Exit codes a terminal front end uses: a refusal or failure, and a usage error (as argparse).
FAILURE: Final = 1
USAGE: Final = 2


class ActionError(Exception):
    """A refusal or failure to show a person as is (one line), before or after the server spoke.

    ``code`` is the exit code a command line gives it; other front ends ignore it.
    """

    def __init__(self, message: str, code: int = FAILURE) -> None:
        super().__init__(message)
        self.code = code


class Forbidden(ActionError):
    """The person lacks the permission the action needs (RBAC said no before any change)."""
