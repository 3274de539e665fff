"""Writing quality's regulated records: save with who and why for the history, lock a row for
the transaction, refuse a person without the permission."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _

from mes.errors import Forbidden, NotFound, full_clean


def save(
    instance: models.Model, *, user, reason: str, fields: list[str] | None = None, clean: bool = True
) -> None:
    """Save a regulated record so its history row carries who and why."""
    instance._history_user = user
    instance._change_reason = reason[:100]
    if clean:
        full_clean(instance)
    instance.save(update_fields=fields)


def lock(model: type[models.Model], pk: int, *related: str):
    """Lock one row for the rest of the transaction (a no-op on SQLite, which serialises writers)."""
    try:
        return model.objects.select_for_update(of=("self",)).select_related(*related).get(pk=pk)
    except model.DoesNotExist:
        raise NotFound(
            _("No such %(record)s.") % {"record": model._meta.verbose_name}, code="not_found"
        ) from None


def require(user, perm: str, message: str) -> None:
    if not user.has_perm(perm):
        raise Forbidden(message, code="not_allowed")
