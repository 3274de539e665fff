"""The items of a checklist version, edited in place with htmx: add, change, move, remove."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mes.content import posted_translations
from mes.errors import MesError
from mes.forms import typed_decimal
from mes.permissions import permission_required
from quality import services
from quality.content import ITEM_TEXTS
from quality.views._helpers import done, refused
from quality.views.desk.common import AUTHOR
from quality.views.desk.versions import PAGE, editor_context, version_or_404

ITEMS = f"{PAGE}#items"


def _item_data(post) -> dict:
    data = {
        name: post.get(name, "")
        for name in ("kind", "prompt", "help_text", "unit", "lsl", "usl", "target", "decimals", "choices")
    }
    for name, label in (("lsl", _("LSL")), ("usl", _("USL")), ("target", _("Target"))):
        data[name] = typed_decimal(data[name], field=name, label=label)  # as typed, in the page's language
    data["required"] = post.get("required") == "on"
    data["multiple"] = post.get("multiple") == "on"
    data["translations"] = posted_translations(post, ITEM_TEXTS)
    if not data["decimals"]:
        data.pop("decimals")
    return {k: v for k, v in data.items() if k != "kind" or v}


@require_POST
@permission_required(AUTHOR)
def item_save(request, pk: int, item_pk: int | None = None):
    """Add an item (or change one) and answer with the item list, for htmx; on a frozen version
    the change makes a new draft version and the browser is sent there."""
    version = version_or_404(request, pk)
    try:
        if item_pk:
            item = services.item_update(
                item_id=item_pk,
                user=request.user,
                data=_item_data(request.POST),
                help_image=request.FILES.get("help_image"),
            )
        else:
            item = services.item_add(
                version_id=version.pk,
                user=request.user,
                data=_item_data(request.POST),
                help_image=request.FILES.get("help_image"),
            )
    except MesError as exc:
        if request.htmx:
            context = editor_context(request, version, error=exc)
            return render(request, ITEMS, context, status=exc.status_code)
        return refused(request, exc, reverse("quality_version", args=[pk]))
    if item.version_id != version.pk:
        return done(
            request,
            _("Changes go to the new draft version %(version)s.") % {"version": item.version.version},
            reverse("quality_version", args=[item.version_id]),
        )
    if request.htmx:
        return render(request, ITEMS, editor_context(request, version))
    return done(request, _("Saved."), reverse("quality_version", args=[pk]))


@require_POST
@permission_required(AUTHOR)
def item_move(request, pk: int, item_pk: int):
    version = version_or_404(request, pk)
    try:
        if request.POST.get("direction") == "remove":
            services.item_remove(item_id=item_pk, user=request.user)
        else:
            services.item_move(
                item_id=item_pk, direction=request.POST.get("direction", ""), user=request.user
            )
    except MesError as exc:
        context = editor_context(request, version, error=exc)
        return render(request, ITEMS, context, status=exc.status_code)
    return render(request, ITEMS, editor_context(request, version))
