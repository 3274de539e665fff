"""States of the live picture, as data."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from mes.transitions import Transitions


class LiveState(models.TextChoices):
    RUNNING = "running", _("Running")
    IDLE = "idle", _("Idle")
    DOWN = "down", _("Down")
    SETUP = "setup", _("Setup")
    BLOCKED = "blocked", _("Blocked")
    OFFLINE = "offline", _("Offline")


# The colour order of a line tile: the worst workstation state shows.
SEVERITY = [
    LiveState.DOWN,
    LiveState.BLOCKED,
    LiveState.SETUP,
    LiveState.OFFLINE,
    LiveState.RUNNING,
    LiveState.IDLE,
]

# Downtime reasons that mean something other than "down" on the dashboard. Machines report these
# states over MQTT; the ingestor opens downtime with these reason codes (seed_demo creates them).
OFFLINE_REASONS = {"OFFLINE"}
BLOCKED_REASONS = {"BLOCKED", "STARVED"}


class AndonKind(models.TextChoices):
    HELP = "help", _("Help")
    MATERIAL = "material", _("Material")
    QUALITY = "quality", _("Quality")
    MAINTENANCE = "maintenance", _("Maintenance")


class AndonStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


ANDON_TRANSITIONS = Transitions(
    AndonStatus,
    {
        AndonStatus.OPEN: {AndonStatus.ACKNOWLEDGED, AndonStatus.RESOLVED},
        AndonStatus.ACKNOWLEDGED: {AndonStatus.RESOLVED},
        AndonStatus.RESOLVED: set(),
    },
)
