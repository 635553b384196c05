"""One error hierarchy: each refusal carries a stable code, a Chinese message, an HTTP status."""

from __future__ import annotations

from typing import Any


class RoadcertError(Exception):
    """Base of every error roadcert reports to a user.

    ``code`` is stable and machine-readable (``issuance.authority_disabled``), ``message`` is
    Chinese text a clerk can act on, ``field`` names the input at fault when there is one.
    """

    status: int = 400
    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of an error response."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class BadInput(RoadcertError):
    """Input that breaks a rule (identifier, code table, required field)."""

    status = 422
    code = "bad_input"


class NotFound(RoadcertError):
    """A referenced record does not exist."""

    status = 404
    code = "not_found"


class Conflict(RoadcertError):
    """The request contradicts the current state (duplicate, wrong lifecycle step)."""

    status = 409
    code = "conflict"


class Forbidden(RoadcertError):
    """The caller may not do this."""

    status = 403
    code = "forbidden"


class ConfigurationError(RoadcertError):
    """The installation is not set up to do this (no keys, no database)."""

    status = 503
    code = "configuration"
