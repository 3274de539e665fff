"""What every quality service shares: idempotent execution, saving with history, locks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, models, transaction

from mes.errors import Conflict, full_clean
from mes.idempotency import fingerprint
from quality.models import QualityRequest


@dataclass(frozen=True)
class Done:
    """What an idempotent action produced, and whether this call replayed an earlier one."""

    result_id: int
    replayed: bool


def _replay(key: uuid.UUID, action: str, request_fingerprint: str) -> Done | None:
    existing = QualityRequest.objects.filter(key=key).first()
    if existing is None:
        return None
    if existing.action != action or existing.request_fingerprint != request_fingerprint:
        raise Conflict(
            "This idempotency key was already used for a different request.",
            field="idempotency_key",
            code="key_reused",
        )
    return Done(existing.result_id, replayed=True)


def run_once(key: uuid.UUID, action: str, request: dict, act: Callable[[], models.Model]) -> Done:
    """Run `act()` in one transaction unless `key` already did this request; a retry returns the
    first result, the same key for another request is a 409, and of two concurrent requests with
    one key the loser rolls back whole and returns the winner's result."""
    request_fingerprint = fingerprint({"action": action, **request})
    if (replayed := _replay(key, action, request_fingerprint)) is not None:
        return replayed
    try:
        with transaction.atomic():
            result = act()
            QualityRequest.objects.create(
                key=key, action=action, request_fingerprint=request_fingerprint, result_id=result.pk
            )
    except IntegrityError:
        if (replayed := _replay(key, action, request_fingerprint)) is not None:
            return replayed
        raise
    return Done(result.pk, replayed=False)


def save(
    instance: models.Model, *, user, reason: str, fields: list[str] | None = None, clean: bool = True
) -> None:
    """Save a regulated record so its history row carries who and why."""
    instance._history_user = user
    instance._change_reason = reason[:100]
    if clean:
        full_clean(instance)
    instance.save(update_fields=fields)


def image_format(upload) -> str | None:
    """The format Pillow reads in an uploaded file ("JPEG", "PNG" ...), or None when it is not an
    image; the file is left at its start."""
    from PIL import Image, UnidentifiedImageError

    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
            return image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    finally:
        upload.seek(0)


def lock(model: type[models.Model], pk: int, *related: str):
    """Lock one row for the rest of the transaction (a no-op on SQLite, which serialises writers)."""
    try:
        return model.objects.select_for_update(of=("self",)).select_related(*related).get(pk=pk)
    except model.DoesNotExist:
        from mes.errors import NotFound

        raise NotFound(f"No such {model._meta.verbose_name}.", code="not_found") from None


def require(user, perm: str, message: str) -> None:
    from mes.errors import Forbidden

    if not user.has_perm(perm):
        raise Forbidden(message, code="not_allowed")
