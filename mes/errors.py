"""Domain errors: what a service raises when it refuses an action.

Each carries a user-facing message, a stable machine code and, where one input is at fault, the
field. Edges map them to HTTP: `ValidationFailed` 400, `Conflict` 409, `Forbidden` 403,
`NotFound` 404, `Throttled` 429.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError


class MesError(Exception):
    status_code = 400
    default_code = "refused"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field

    def as_dict(self) -> dict:
        body: dict = {"detail": self.message, "code": self.code}
        if self.field:
            body["errors"] = {self.field: [self.message]}
        return body


class ValidationFailed(MesError):
    status_code = 400
    default_code = "invalid"


class Conflict(MesError):
    status_code = 409
    default_code = "conflict"


class IllegalTransition(Conflict):
    default_code = "illegal_transition"


class Forbidden(MesError):
    status_code = 403
    default_code = "forbidden"


class NotFound(MesError):
    status_code = 404
    default_code = "not_found"


class Throttled(MesError):
    status_code = 429
    default_code = "throttled"


def full_clean(instance, **kwargs) -> None:
    """Run the model's validation and refuse with the first field and its reason."""
    try:
        instance.full_clean(**kwargs)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.message_dict.items()))
            field = None if field == "__all__" else field
            raise ValidationFailed(errors[0], field=field) from None
        raise ValidationFailed(exc.messages[0]) from None
