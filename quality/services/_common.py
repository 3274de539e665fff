"""What every quality service shares: idempotent execution, saving with history, locks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models

from mes import idempotency
from mes.errors import full_clean
from quality.models import QualityRequest


@dataclass(frozen=True)
class Done:
    """What an idempotent action produced, and whether this call replayed an earlier one."""

    result_id: int
    replayed: bool


def _recorded(key: uuid.UUID) -> idempotency.Earlier[int] | None:
    earlier = QualityRequest.objects.filter(key=key).values_list(
        "user_id", "request_fingerprint", "result_id"
    )
    found = earlier.first()
    return idempotency.Earlier(*found) if found is not None else None


def _request(action: str, request: dict) -> dict:
    # The action is part of the request: one key can't serve a hold and then a nonconformance.
    return {"action": action, **request}


def replayed(key: uuid.UUID, action: str, request: dict, *, user) -> Done | None:
    """The earlier result if `key` already did this request for `user` (None for a new key); a
    409 if the key is another person's or did another request."""
    earlier = _recorded(key)
    if earlier is None:
        return None
    once = idempotency.replay(
        earlier, author=user, request_fingerprint=idempotency.fingerprint(_request(action, request))
    )
    return Done(once.result, replayed=True)


def run_once(key: uuid.UUID, action: str, request: dict, act: Callable[[], models.Model], *, user) -> Done:
    """Run `act()` in one transaction unless `key` already did this request; a retry by the same
    person returns the first result, the key sent by someone else or for another request is a
    409, and of two concurrent requests with one key the loser rolls back whole and returns the
    winner's result (the rule of `mes.idempotency.run_once`)."""

    def act_and_record(request_fingerprint: str) -> int:
        result = act()
        QualityRequest.objects.create(
            key=key, action=action, request_fingerprint=request_fingerprint, result_id=result.pk, user=user
        )
        return result.pk

    once = idempotency.run_once(
        key=key,
        author=user,
        request=_request(action, request),
        act=act_and_record,
        recorded=_recorded,
        look_first=True,
    )
    return Done(once.result, replayed=once.replayed)


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
