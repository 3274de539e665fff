"""Telling supervisors that ERP messages went dead: they need a person to retry or skip them.

A message becomes a dead letter when its attempts run out (or its worker died on the last one).
Two channels, so it is seen whether or not anyone reads mail:
- an e-mail to the active people who may resolve messages and have an address (`EMAIL_URL`
  decides how mail leaves; the embedded default prints it to the server's console);
- a count beside "Integration" in the navigation of everyone who sees the console, on every page,
  until each dead letter is retried or skipped.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse

from integration.models import OutboxMessage
from integration.states import MessageStatus
from mes.models import User

log = logging.getLogger("integration.alerts")
RESOLVE = ("integration", "resolve_outboxmessage")


def dead_letter_count() -> int:
    """Messages waiting for a person (the navigation badge)."""
    return OutboxMessage.objects.filter(status=MessageStatus.DEAD).count()


def resolvers() -> list[User]:
    """Active people with an e-mail address who may retry or skip messages (by role or directly)."""
    app_label, codename = RESOLVE
    by_role = Q(
        groups__permissions__content_type__app_label=app_label, groups__permissions__codename=codename
    )
    directly = Q(user_permissions__content_type__app_label=app_label, user_permissions__codename=codename)
    return list(
        User.objects.filter(is_active=True, email__gt="")
        .filter(by_role | directly | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


def alert_dead_letters(newly_dead: list[OutboxMessage] | int, *, cause: str = "") -> int:
    """Mail the people who may resolve messages that `newly_dead` went dead; returns how many were
    told. Never raises: a mail server that is down must not undo a delivery round."""
    count = newly_dead if isinstance(newly_dead, int) else len(newly_dead)
    if count <= 0:
        return 0
    people = resolvers()
    waiting = dead_letter_count()
    lines = [
        f"{count} ERP message{'s' if count != 1 else ''} could not be delivered and "
        f"{'are' if count != 1 else 'is'} now a dead letter; {waiting} in all wait for a person.",
        "",
    ]
    if not isinstance(newly_dead, int):
        for message in newly_dead[:20]:
            p = message.payload or {}
            lines.append(
                f"#{message.pk} {message.message_type} order {p.get('order_number', '?')} "
                f"(sequence {message.sequence}): {message.last_error or cause}"
            )
    elif cause:
        lines.append(cause)
    lines += ["", f"Retry or skip them on the integration console: {reverse('integration_console')}"]
    if not people:
        log.error("dead letters (%s) and nobody with an e-mail address to tell", count)
        return 0
    try:
        send_mail(
            subject=f"[MES] {count} ERP message{'s' if count != 1 else ''} need attention",
            message="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[u.email for u in people],
        )
    except Exception:
        log.exception("could not send the dead-letter alert to %s people", len(people))
        return 0
    return len(people)
