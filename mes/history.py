"""simple-history's `HistoricalRecords`, with its history manager class built once per model.

simple-history builds the manager class behind `Model.history` (`from_queryset`, a `type()` call
over every queryset method) on each access, and it reaches that manager for every historical row
it writes: on the production path, several times per tap. The class depends only on the queryset
class, so it is built once and reused; the manager instances stay per access.
"""

from __future__ import annotations

import functools

from simple_history import manager, models


class HistoryManager(manager.HistoryManager):
    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


class HistoricalRecords(models.HistoricalRecords):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("history_manager", HistoryManager)
        super().__init__(*args, **kwargs)
