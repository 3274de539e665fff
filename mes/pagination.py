"""The one pagination of every API list: `?limit=` and `?offset=`, both checked.

DRF's own limit/offset pagination quietly replaces what it can't read with its default and sends
any limit it can read to the database: `limit=100000000` returned a whole ledger in one answer,
and a limit past a 64-bit integer failed in the database. Here a page holds at most `MAX_LIMIT`
rows, and a limit or offset that is not a whole number in range is refused with 400, naming the
parameter, before anything is counted or read.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.translation import gettext
from rest_framework.pagination import LimitOffsetPagination

from mes.errors import ValidationFailed

MAX_LIMIT = 1000
# Far past the size of any table a plant keeps, and far inside a 64-bit integer even with a limit
# added: an offset past the end answers an empty page, one past this is a mistake.
MAX_OFFSET = 10**12
WHOLE_NUMBER = re.compile(r"[0-9]{1,20}")


def _whole_number(request, name: str, *, lowest: int, highest: int) -> int | None:
    """The query parameter `name` as an int in [lowest, highest]; None when it is absent."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return None
    if not WHOLE_NUMBER.fullmatch(text) or not lowest <= int(text) <= highest:
        raise ValidationFailed(
            gettext("%(name)s must be a whole number from %(lowest)s to %(highest)s.")
            % {"name": name, "lowest": lowest, "highest": highest},
            field=name,
            code=f"invalid_{name}",
        )
    return int(text)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """Limit/offset pages of at most `MAX_LIMIT` rows (`PAGE_SIZE` when no limit is given)."""

    max_limit = MAX_LIMIT
    max_offset = MAX_OFFSET

    @property
    def default_limit(self) -> int:
        return min(settings.REST_FRAMEWORK.get("PAGE_SIZE") or 100, self.max_limit)

    def paginate_queryset(self, queryset, request, view=None):
        # Both parameters are checked before the count: a refused request reads nothing.
        self.get_offset(request)
        return super().paginate_queryset(queryset, request, view)

    def get_limit(self, request) -> int:
        limit = _whole_number(request, self.limit_query_param, lowest=1, highest=self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request) -> int:
        return _whole_number(request, self.offset_query_param, lowest=0, highest=self.max_offset) or 0

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0, "maximum": self.max_offset},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
