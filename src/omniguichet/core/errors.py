"""Errors raised by services; the API turns them into {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class ServiceError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def as_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class InvalidInput(ServiceError):
    status = 422
    code = "invalid"

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> InvalidInput:
        """One error naming every refused field: "nir: the key 12 does not match, expected 38"."""
        message = "; ".join(f"{name}: {reason}" for name, reason in fields.items())
        return cls(message, fields=fields)


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


def collect(fields: dict[str, str], name: str, check, value):
    """Run a validator; on refusal, record the reason under the field's name and return None."""
    try:
        return check(value)
    except ValidationError as exc:
        fields[name] = " ".join(str(m) for m in exc.messages)
        return None
