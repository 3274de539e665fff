"""States of the live picture, as data."""

from django.db import models

from mes.transitions import Transitions


class LiveState(models.TextChoices):
    RUNNING = "running", "Running"
    IDLE = "idle", "Idle"
    DOWN = "down", "Down"
    SETUP = "setup", "Setup"
    BLOCKED = "blocked", "Blocked"
    OFFLINE = "offline", "Offline"


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
    HELP = "help", "Help"
    MATERIAL = "material", "Material"
    QUALITY = "quality", "Quality"
    MAINTENANCE = "maintenance", "Maintenance"


class AndonStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


ANDON_TRANSITIONS = Transitions(
    AndonStatus,
    {
        AndonStatus.OPEN: {AndonStatus.ACKNOWLEDGED, AndonStatus.RESOLVED},
        AndonStatus.ACKNOWLEDGED: {AndonStatus.RESOLVED},
        AndonStatus.RESOLVED: set(),
    },
)
