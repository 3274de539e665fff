"""Filters the API's filter sets share (django-filter): a record's id, and a list of choices.

A filter value that is not what the filter takes (`?workstation=abc`, `?work_order=1.5`, an id
past 64 bits, a status that doesn't exist) answers 400 naming the filter, through DRF's
DjangoFilterBackend; before filter sets, views parsed these by hand and the database raised 500.
"""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters

BIGINT_MAX = 2**63 - 1


class IdFilter(filters.NumberFilter):
    """A record's id: a whole number from 1 up (django-filter's NumberFilter takes decimals)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class ChoicesInFilter(filters.BaseInFilter, filters.ChoiceFilter):
    """One or more choices, comma separated (`?status=released,in_progress`); each must exist."""
