"""The browsable API, with the sites rule applied to its forms.

DRF's HTML forms offer every record of a related field as a choice (every line for a work
order's `line`, every workstation and order for a checklist run): on a plant of several sites,
a person would read the other sites' lines, workstations and orders off a drop-down. The forms
here offer only what `records_visible_to` lets the reader see, as every list does.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.relations import ManyRelatedField, RelatedField
from rest_framework.renderers import BrowsableAPIRenderer

from mes.selectors import records_visible_to


def scope_choices(serializer: serializers.BaseSerializer, user) -> None:
    """Narrow the choices of every writable related field of `serializer` (nested ones too) to
    the records `user` may see."""
    if isinstance(serializer, serializers.ListSerializer):
        serializer = serializer.child
    for field in serializer.fields.values():
        if isinstance(field, ManyRelatedField):
            field = field.child_relation
        if isinstance(field, RelatedField) and field.queryset is not None:
            field.queryset = records_visible_to(user, field.queryset)
        elif isinstance(field, serializers.BaseSerializer):
            scope_choices(field, user)


class SiteScopedBrowsableAPIRenderer(BrowsableAPIRenderer):
    def render_form_for_serializer(self, serializer):
        request = (getattr(self, "renderer_context", None) or {}).get("request")
        if request is not None and request.user.is_authenticated:
            scope_choices(serializer, request.user)
        return super().render_form_for_serializer(serializer)
