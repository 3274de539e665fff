"""The plant (ISA-95 equipment hierarchy Site > Line > Workstation), shifts, people and tablets."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes.history import HistoricalRecords

code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
    _("Use letters, digits, '-' and '_' only (it appears in MQTT topics and exports)."),
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(gettext("'%(value)s' is not a known IANA time zone.") % {"value": value})


class Site(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Line(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="lines", verbose_name=_("site"))
    code = models.CharField(_("code"), max_length=32, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "code"]
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="line_code_unique_per_site")]

    def __str__(self) -> str:
        return f"{self.site.code}/{self.code} {self.name}"


class Workstation(models.Model):
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, related_name="workstations", verbose_name=_("line")
    )
    code = models.CharField(_("code"), max_length=32, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["line__site__code", "line__code", "code"]
        verbose_name = _("workstation")
        verbose_name_plural = _("workstations")
        constraints = [
            models.UniqueConstraint(fields=["line", "code"], name="workstation_code_unique_per_line")
        ]
        permissions = [
            ("use_tablet", "Work at a workstation tablet"),
            ("bind_tablet", "Bind a tablet to a workstation"),
        ]

    def __str__(self) -> str:
        return f"{self.line.site.code}/{self.line.code}/{self.code} {self.name}"

    @property
    def site(self) -> Site:
        return self.line.site


class Shift(models.Model):
    """A named shift of a site's calendar, in the site's local time.

    A shift whose end is not after its start runs past midnight: it starts on one of its
    weekdays and ends the next day.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("site"))
    name = models.CharField(_("name"), max_length=64)
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    weekdays = models.CharField(
        _("weekdays"),
        max_length=7,
        default="12345",
        validators=[RegexValidator(r"^[1-7]{1,7}$", _("ISO weekdays as digits, Monday=1 ... Sunday=7."))],
        help_text=_("The days the shift starts on, as ISO weekday digits: 12345 is Monday to Friday."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "start_time"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="shift_name_unique_per_site")]

    def __str__(self) -> str:
        return f"{self.site.code} {self.name} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    @property
    def weekday_set(self) -> set[int]:
        return {int(d) for d in self.weekdays}

    @property
    def crosses_midnight(self) -> bool:
        return self.end_time <= self.start_time


class User(AbstractUser):
    """A person. Operators may also sign in on a tablet with a badge number and a PIN."""

    badge_number = models.CharField(_("badge number"), max_length=32, unique=True, null=True, blank=True)
    pin_hash = models.CharField(max_length=128, blank=True, editable=False)
    sites = models.ManyToManyField(
        Site,
        blank=True,
        related_name="users",
        verbose_name=_("sites"),
        help_text=_("The sites this person may see."),
    )
    all_sites = models.BooleanField(
        _("all sites"), default=False, help_text=_("May see every site (plant-wide roles).")
    )
    # The screens speak this once the person has signed in (mes.locale_middleware); blank: the
    # tablet's switch, the browser's languages or the site default.
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("The language the screens speak to this person; blank: the browser's or the site's."),
    )
    oidc_subject = models.CharField(
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("The identity provider's stable id of this person (company sign-in), if they use it."),
    )
    # Group membership is the person's role, and `sites` what they may see: `m2m_fields` keeps both
    # in the history too (a change writes a "~" row of the user with the groups and sites from then on).
    history = HistoricalRecords(
        excluded_fields=["last_login", "password", "pin_hash"], m2m_fields=["groups", "sites"]
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def set_pin(self, raw_pin: str) -> None:
        self.pin_hash = make_password(raw_pin)

    def check_pin(self, raw_pin: str) -> bool:
        return bool(self.pin_hash) and check_password(raw_pin, self.pin_hash)

    @property
    def printed_name(self) -> str:
        return self.get_full_name() or self.username


class Tablet(models.Model):
    """A shared tablet bound to one workstation; the tablet carries `token` in a signed cookie.

    Its tables keep the names they were created with (`mes_kiosk`, `mes_historicalkiosk`): the
    audit seal names the tables it hashed, and sealed evidence is never moved.
    """

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    workstation = models.ForeignKey(
        Workstation, on_delete=models.PROTECT, related_name="tablets", verbose_name=_("workstation")
    )
    bound_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("bound by"))
    bound_at = models.DateTimeField(_("bound at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("revoked by")
    )
    history = HistoricalRecords(table_name="mes_historicalkiosk")

    class Meta:
        db_table = "mes_kiosk"
        ordering = ["workstation", "name"]
        verbose_name = _("tablet")
        verbose_name_plural = _("tablets")

    def __str__(self) -> str:
        return f"{self.name} @ {self.workstation.code}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


# The electronic signature, the audit seal (the hash chain over every history table) and the
# sign-in throttle with its attempt log live in their own modules; importing them here registers
# the models with the mes app whatever other apps are installed.
from mes.seal import AuditSeal, AuditSealPart  # noqa: E402, F401
from mes.signatures import Signature  # noqa: E402, F401
from mes.throttle import SignInAttempt, SignInCounter  # noqa: E402, F401
