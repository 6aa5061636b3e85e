"""Domain errors. Each carries a field and a reason that the API renders as a clear 4xx."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "reason": self.reason}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class TooLarge(DomainError):
    status_code = 413
    code = "too_large"
