"""The audit trail, read side: who changed which regulated record, when, what and why.

The stable API the audit page, the audit API and the audit-trail reports (PDF/CSV) build on::

    from traceability.audit import AuditFilter, audit_entries

    wanted = AuditFilter(model="workorders.lot", record="L-240501-00001", user="sam",
                         start=datetime(2026, 5, 1, tzinfo=UTC), end=date(2026, 5, 31),
                         viewer=request.user).clean()       # only the sites the reader may see
    for entry in audit_entries(wanted, limit=50, offset=0):   # newest first
        entry.model, entry.verbose_name, entry.record_id, entry.record, entry.history_id,
        entry.history_type ("+" created, "~" changed, "-" deleted), entry.when, entry.user,
        entry.reason, entry.seal (number of the seal covering the row, or None)
        for change in entry.changes: change.field (label), change.old, change.new  (display text)

Every history table of django-simple-history is read (every model with `history`); one query
per history table finds the page's keys through the tables' indexes on `history_date` and
`history_user_id`, and a fixed handful of queries per table on the page fetches the rows, the
previous row of each record (for the diff), the users, related records' names and the seals:
the cost depends on the page size, not on the size of the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext

from mes.errors import ValidationFailed
from mes.seal import seals_covering
from mes.selectors import records_visible_to

HISTORY_TYPES = {"+": "created", "~": "changed", "-": "deleted"}


# --- what has an audit trail ----------------------------------------------------------------------


def audited_models() -> dict[str, type[models.Model]]:
    """Every model with a history, by its lower-case label ("workorders.lot"), sorted."""
    found = {
        m._meta.label_lower: m
        for m in apps.get_models()
        if getattr(m._meta, "simple_history_manager_attribute", None)
    }
    return dict(sorted(found.items()))


def _history_of(model) -> type[models.Model]:
    return getattr(model, model._meta.simple_history_manager_attribute).model


def _natural_key_field(model) -> models.Field | None:
    """The field people name a record by: its first unique text field (code, number, username)."""
    for f in model._meta.concrete_fields:
        if f.unique and not f.primary_key and isinstance(f, models.CharField):
            return f
    return None


# --- the filter ----------------------------------------------------------------------------------------


def _is_id(text: str) -> bool:
    """Whether `text` can be a record's id: ASCII digits within 64 bits ("²" is a digit to
    str.isdigit, and int() refuses both it and thousands of digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _parse_moment(value, *, name: str, end: bool) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:  # well formed but no such day (31 February) raises ValueError
            parsed = parse_datetime(text) if ("T" in text or " " in text) else None
            day = parse_date(text) if parsed is None and len(text) == 10 else None
        except ValueError:
            parsed = day = None
        if parsed is None:
            if day is None:
                raise ValidationFailed(
                    gettext("'%(text)s' is not a date or a time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM).")
                    % {"text": text},
                    field=name,
                    code="invalid_time",
                )
            value = day
        else:
            value = parsed
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, dt.date):
        # A day as the end of a period means the whole of that day (the calendar's last day: all of time).
        if end and value == dt.date.max:
            return None
        moment = dt.datetime.combine(value + dt.timedelta(days=1) if end else value, dt.time())
        moment = timezone.make_aware(moment)
        return moment - dt.timedelta(microseconds=1) if end else moment
    raise ValidationFailed(
        gettext("'%(value)s' is not a date or a time.") % {"value": value}, field=name, code="invalid_time"
    )


@dataclass
class AuditFilter:
    """What part of the audit trail to read. Every criterion is optional.

    model:  a model label, "workorders.lot" (case does not matter); see `audited_models()`.
    record: a record's id, or its natural key (lot or serial code, order number, username...);
            needs `model`. Found through the history, so deleted records are found too.
    user:   the person who made the change: a User, their id or their username.
    start, end: the period, both ends included; datetimes (naive ones in the current time zone),
            dates (`end` as a date includes that whole day) or ISO text.
    viewer: the person reading: only the history of records on the sites they may see (and of
            plant-wide records) is read, and found by `record`. None reads all of it (the
            plant-wide reports).

    `clean()` checks and resolves them, raising `ValidationFailed(field=..., code=...)`:
    unknown_model, model_required, unknown_record, unknown_user, invalid_time, impossible_range.
    """

    model: str | None = None
    record: str | int | None = None
    user: object = None
    start: dt.datetime | dt.date | str | None = None
    end: dt.datetime | dt.date | str | None = None
    viewer: object = field(default=None, repr=False)
    record_ids: tuple = field(default=(), init=False, repr=False)
    user_id: int | None = field(default=None, init=False, repr=False)
    cleaned: bool = field(default=False, init=False, repr=False)

    def clean(self) -> AuditFilter:
        models_ = audited_models()
        self.model = (self.model or "").strip().lower() or None
        if self.model and self.model not in models_:
            raise ValidationFailed(
                gettext("'%(model)s' is not a kind of record with an audit trail.") % {"model": self.model},
                field="model",
                code="unknown_model",
            )
        self.record = str(self.record).strip() if self.record not in (None, "") else None
        self.record_ids = ()
        if self.record:
            if not self.model:
                raise ValidationFailed(
                    gettext("Choose the kind of record to find a record by its id or name."),
                    field="model",
                    code="model_required",
                )
            self.record_ids = self._resolve_record(models_[self.model])
        self.user_id = self._resolve_user()
        self.start = _parse_moment(self.start, name="start", end=False)
        self.end = _parse_moment(self.end, name="end", end=True)
        if self.start and self.end and self.start > self.end:
            raise ValidationFailed(
                gettext("The period ends before it starts: choose an end after the start."),
                field="end",
                code="impossible_range",
            )
        self.cleaned = True
        return self

    def _resolve_record(self, model) -> tuple:
        rows = _readable(_history_of(model), self)
        pk = model._meta.pk.attname
        found: set = set()
        if _is_id(self.record):
            found |= set(rows.filter(**{pk: int(self.record)}).values_list(pk, flat=True)[:1])
        key = _natural_key_field(model)
        if key is not None:
            found |= set(rows.filter(**{key.attname: self.record}).values_list(pk, flat=True).distinct())
        if not found:
            raise ValidationFailed(
                gettext("No %(verbose_name)s '%(record)s' in the audit trail.")
                % {"verbose_name": model._meta.verbose_name, "record": self.record},
                field="record",
                code="unknown_record",
            )
        return tuple(sorted(found))

    def _resolve_user(self) -> int | None:
        User = get_user_model()
        value = self.user
        if value in (None, ""):
            return None
        if isinstance(value, User):
            return value.pk
        text = str(value).strip()
        found = User.objects.filter(username=text).values_list("pk", flat=True).first()
        if found is None and _is_id(text):
            found = User.objects.filter(pk=int(text)).values_list("pk", flat=True).first()
        if found is None:
            raise ValidationFailed(
                gettext("No user '%(text)s'.") % {"text": text}, field="user", code="unknown_user"
            )
        return found


# --- the entries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """One field of one change, as display text: `field` is the label, `name` the field's name."""

    field: str
    old: str
    new: str
    name: str = ""


@dataclass(frozen=True)
class AuditEntry:
    model: str
    verbose_name: str
    record_id: object
    record: str
    history_id: int
    history_type: str
    when: dt.datetime
    user: str
    user_id: int | None
    reason: str
    changes: list[FieldChange]
    seal: int | None = None

    @property
    def action(self) -> str:
        return HISTORY_TYPES.get(self.history_type, self.history_type)

    @property
    def key(self) -> str:
        """A stable id of the entry across tables: "<model>:<history id>"."""
        return f"{self.model}:{self.history_id}"


def _readable(history, flt: AuditFilter):
    """The history rows the filter's viewer may read: those of records on their sites."""
    rows = history.objects.all()
    return rows if flt.viewer is None else records_visible_to(flt.viewer, rows)


def _filtered(history, model, flt: AuditFilter):
    qs = _readable(history, flt)
    if flt.record_ids:
        qs = qs.filter(**{f"{model._meta.pk.attname}__in": flt.record_ids})
    if flt.user_id is not None:
        qs = qs.filter(history_user_id=flt.user_id)
    if flt.start is not None:
        qs = qs.filter(history_date__gte=flt.start)
    if flt.end is not None:
        qs = qs.filter(history_date__lte=flt.end)
    return qs


def _chosen(flt: AuditFilter) -> dict[str, type[models.Model]]:
    models_ = audited_models()
    return {flt.model: models_[flt.model]} if flt.model else models_


def audit_count(flt: AuditFilter) -> int:
    """How many history rows match (one COUNT per history table)."""
    if not flt.cleaned:
        flt.clean()
    return sum(_filtered(_history_of(m), m, flt).count() for m in _chosen(flt).values())


def audit_entries(flt: AuditFilter, *, limit: int | None = None, offset: int = 0) -> list[AuditEntry]:
    """The history rows matching `flt`, newest first (by time, then history id), from `offset`,
    at most `limit` of them (all when None). Cleans the filter if it isn't yet."""
    if not flt.cleaned:
        flt.clean()
    offset = max(0, int(offset or 0))
    wanted = None if limit is None else offset + max(0, int(limit))
    keys: list[tuple[dt.datetime, int, str]] = []
    for label, model in _chosen(flt).items():
        qs = _filtered(_history_of(model), model, flt).order_by("-history_date", "-history_id")
        qs = qs.values_list("history_date", "history_id")
        if wanted is not None:
            qs = qs[:wanted]
        keys.extend((when, hid, label) for when, hid in qs)
    keys.sort(key=lambda k: (k[0], k[1], k[2]), reverse=True)
    page = keys[offset:wanted]
    by_label: dict[str, list[int]] = {}
    for _, hid, label in page:
        by_label.setdefault(label, []).append(hid)
    built: dict[tuple[str, int], AuditEntry] = {}
    for label, hids in by_label.items():
        for entry in _entries_of(audited_models()[label], hids):
            built[(label, entry.history_id)] = entry
    user_ids = {e.user_id for e in built.values() if e.user_id is not None}
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    return [
        replace(e, user=names.get(e.user_id, f"#{e.user_id}")) if e.user_id is not None else e
        for e in (built[(label, hid)] for _, hid, label in page)
    ]


def _m2m_history(history) -> dict[str, tuple[type[models.Model], str]]:
    """The many-to-many history models of a history model: field name -> (model, target field)."""
    out = {}
    for f in getattr(history, "_history_m2m_fields", []):
        through = f.remote_field.through
        m2m = apps.get_model(history._meta.app_label, f"Historical{through._meta.object_name}")
        out[f.name] = (m2m, f.m2m_reverse_field_name())
    return out


def _entries_of(model, hids: list[int]) -> list[AuditEntry]:
    history = _history_of(model)
    pk = model._meta.pk.attname
    tracked = [f for f in history.tracked_fields if not f.primary_key]
    previous = history.objects.filter(**{pk: OuterRef(pk)}, history_id__lt=OuterRef("history_id"))
    rows = list(
        history.objects.filter(history_id__in=hids).annotate(
            previous_id=Subquery(previous.order_by("-history_id").values("history_id")[:1])
        )
    )
    prev_rows = {
        r.history_id: r
        for r in history.objects.filter(history_id__in=[r.previous_id for r in rows if r.previous_id])
    }
    m2m = _m2m_values(history, [*hids, *prev_rows])
    names = _related_names(tracked, [*rows, *prev_rows.values()])
    key = _natural_key_field(model)
    seals = seals_covering(history._meta.db_table, hids)
    out = []
    for row in rows:
        prev = prev_rows.get(row.previous_id)
        changes = []
        if row.history_type != "-":
            for f in tracked:
                new = _display(f, getattr(row, f.attname), names)
                old = _display(f, getattr(prev, f.attname), names) if prev is not None else ""
                if old != new:
                    changes.append(FieldChange(field=_label(f), old=old, new=new, name=f.name))
            for name, values in m2m.items():
                new, old = values.get(row.history_id, ""), values.get(row.previous_id, "") if prev else ""
                if old != new:
                    f = model._meta.get_field(name)
                    changes.append(FieldChange(field=_label(f), old=old, new=new, name=name))
        record_id = getattr(row, pk)
        natural = getattr(row, key.attname) if key is not None else None
        out.append(
            AuditEntry(
                model=model._meta.label_lower,
                verbose_name=record_kind_name(model),
                record_id=record_id,
                record=str(natural) if natural else f"{record_kind_name(model)} #{record_id}",
                history_id=row.history_id,
                history_type=row.history_type,
                when=row.history_date,
                user="",
                user_id=row.history_user_id,
                reason=row.history_change_reason or "",
                changes=changes,
                seal=seals[row.history_id].number if row.history_id in seals else None,
            )
        )
    return out


def record_kind_name(model) -> str:
    """What a record of `model` is called, in the reader's language ("Arbeitsauftrag")."""
    return gettext(capfirst(str(model._meta.verbose_name)))


def _label(f) -> str:
    """The field's name as the reader reads it: translated where the catalogs know it."""
    return gettext(capfirst(str(getattr(f, "verbose_name", f.name))))


def _m2m_values(history, hids: list[int]) -> dict[str, dict[int, str]]:
    """For each many-to-many field: history id -> the related records' names, sorted and joined."""
    out: dict[str, dict[int, str]] = {}
    for name, (m2m, target_name) in _m2m_history(history).items():
        target_fk = m2m._meta.get_field(target_name)
        pairs = list(m2m.objects.filter(history_id__in=hids).values_list("history_id", target_fk.attname))
        target = target_fk.related_model
        key = _natural_key_field(target)
        labels = (
            dict(target._base_manager.filter(pk__in={t for _, t in pairs}).values_list("pk", key.attname))
            if key
            else {}
        )
        grouped: dict[int, list[str]] = {}
        for hid, t in pairs:
            grouped.setdefault(hid, []).append(str(labels.get(t, f"#{t}")))
        out[name] = {hid: ", ".join(sorted(v)) for hid, v in grouped.items()}
    return out


def _related_names(tracked, rows) -> dict[type[models.Model], dict]:
    """Names of the records the rows point at, one query per related model."""
    wanted: dict[type[models.Model], set] = {}
    for f in tracked:
        if f.is_relation and f.many_to_one:
            ids = {getattr(r, f.attname) for r in rows} - {None}
            if ids:
                wanted.setdefault(f.related_model, set()).update(ids)
    names = {}
    for target, ids in wanted.items():
        key = _natural_key_field(target)
        names[target] = (
            dict(target._base_manager.filter(pk__in=ids).values_list("pk", key.attname)) if key else {}
        )
    return names


def _display(f, value, names) -> str:
    if value is None or value == "":
        return ""
    if f.is_relation and f.many_to_one:
        found = names.get(f.related_model, {}).get(value)
        return str(found) if found is not None else f"{record_kind_name(f.related_model)} #{value}"
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "name") and hasattr(value, "storage"):
        return value.name or ""
    return str(value)
