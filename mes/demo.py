"""The demo plant. Each app names the seeder of its part; `seed_demo` runs them in app order.

An app's `AppConfig` names its seeder by dotted path (`demo_seeder = "workorders.demo.seed"`), and
may name one to run before any app seeds (`demo_prepare`). Only `seed_demo` imports them: no
process that serves the plant loads demo code, and the kernel never imports the apps built on it.

Two sites: PLANT1, the full plant with its history, and the smaller PLANT2 with a line, its own
supervisor and operator, and a few orders, so that what a person sees is visibly their sites'.

Every seeder is idempotent: it looks things up by their natural keys and adds only what is
missing, so running `seed_demo` twice leaves the same plant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time

from django.apps import apps
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.module_loading import import_string

from mes import roles
from mes.models import Line, Shift, Site, User, Workstation

Seeder = Callable[[Callable[[str], None]], None]


def seeders() -> list[tuple[str, Seeder]]:
    """The installed apps' seeders as (name, seeder): first each app's `demo_prepare`, then each
    app's `demo_seeder`, both in the order of INSTALLED_APPS, so an app seeds after the apps it
    builds on (production after the plant, quality after production, the outbox's delivery last)."""
    configs = list(apps.get_app_configs())
    prepares = [
        (f"{config.verbose_name} (before the others)", import_string(config.demo_prepare))
        for config in configs
        if getattr(config, "demo_prepare", None)
    ]
    seeds = [
        (config.verbose_name, import_string(config.demo_seeder))
        for config in configs
        if getattr(config, "demo_seeder", None)
    ]
    return prepares + seeds


DEMO_SITE = "PLANT1"
# A second, smaller site, so that a newcomer sees sites scope what people see: its supervisor
# and operator see only it, the first site's people only theirs, the auditor and admin both.
SECOND_SITE = "PLANT2"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    badge: str = ""
    pin: str = ""
    site: str = DEMO_SITE  # where the person works; the auditor and the admin see every site

    @property
    def plant_wide(self) -> bool:
        return self.role in (roles.ADMIN, roles.AUDITOR)


DEMO_LOGINS = [
    DemoLogin("operator", "operator-demo", roles.OPERATOR, badge="1001", pin="1234"),
    DemoLogin("operator2", "operator-demo", roles.OPERATOR, badge="1002", pin="2345"),
    DemoLogin("supervisor", "supervisor-demo", roles.SUPERVISOR, badge="2001", pin="1234"),
    DemoLogin("quality", "quality-demo", roles.QUALITY),
    DemoLogin("auditor", "auditor-demo", roles.AUDITOR),
    DemoLogin("admin", "admin-demo", roles.ADMIN),
    DemoLogin("operator3", "operator-demo", roles.OPERATOR, badge="1003", pin="3456", site=SECOND_SITE),
    DemoLogin("supervisor2", "supervisor-demo", roles.SUPERVISOR, badge="2002", pin="2345", site=SECOND_SITE),
]
DEMO_NAMES = {
    "operator": ("Olga", "Ortiz"),
    "operator2": ("Omar", "Okafor"),
    "supervisor": ("Sam", "Sato"),
    "quality": ("Quinn", "Quist"),
    "auditor": ("Ada", "Auden"),
    "admin": ("Alex", "Admin"),
    "operator3": ("Petr", "Novak"),
    "supervisor2": ("Sara", "Svoboda"),
}
PLANT = {
    "MACH": ("Machining", [("CNC1", "CNC lathe 1"), ("CNC2", "CNC lathe 2"), ("MILL1", "Milling centre")]),
    "ASSY": (
        "Assembly",
        [("ASM1", "Assembly bench 1"), ("ASM2", "Assembly bench 2"), ("TEST1", "End-of-line test")],
    ),
    "PACK": ("Packaging", [("PACK1", "Packing station"), ("LABEL1", "Labelling")]),
}
SHIFTS = [
    ("Early", time(6, 0), time(14, 0), "12345"),
    ("Late", time(14, 0), time(22, 0), "12345"),
    ("Night", time(22, 0), time(6, 0), "1234"),
]
SECOND_PLANT = {
    "KITS": (
        "Service kits",
        [("KIT1", "Kitting bench 1"), ("KIT2", "Kitting bench 2"), ("BAG1", "Bagging and labelling")],
    ),
}
SECOND_SHIFTS = SHIFTS[:2]
# code: (name, time zone, lines, shifts)
SITES = {
    DEMO_SITE: ("Demo Plant", "Europe/Berlin", PLANT, SHIFTS),
    SECOND_SITE: ("Kit Plant", "Europe/Prague", SECOND_PLANT, SECOND_SHIFTS),
}


def _seed_site(code: str, say: Callable[[str], None]) -> Site:
    name, time_zone, lines, shifts = SITES[code]
    site, created = Site.objects.get_or_create(code=code, defaults={"name": name, "time_zone": time_zone})
    if created:
        say(f"site {site.code}")
    for line_code, (line_name, stations) in lines.items():
        line, _ = Line.objects.get_or_create(site=site, code=line_code, defaults={"name": line_name})
        for station_code, station_name in stations:
            Workstation.objects.get_or_create(line=line, code=station_code, defaults={"name": station_name})
    for shift_name, start, end, days in shifts:
        Shift.objects.get_or_create(
            site=site, name=shift_name, defaults={"start_time": start, "end_time": end, "weekdays": days}
        )
    return site


@transaction.atomic
def seed_plant(say: Callable[[str], None]) -> None:
    sites = {code: _seed_site(code, say) for code in SITES}
    for login in DEMO_LOGINS:
        first, last = DEMO_NAMES[login.username]
        user, created = User.objects.get_or_create(
            username=login.username, defaults={"first_name": first, "last_name": last}
        )
        if created:
            user.set_password(login.password)
            if login.badge:
                user.badge_number = login.badge
                user.set_pin(login.pin)
            user.is_staff = login.role == roles.ADMIN
            user.all_sites = login.plant_wide
            user._change_reason = "Demo plant"
            user.save()
            user.groups.add(Group.objects.get(name=login.role))
            user.sites.add(sites[login.site])
            say(f"user {login.username}")
