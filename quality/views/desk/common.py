"""What the desk screens share: the site a form names, and the answer to a refused form."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpResponse
from django.utils.translation import gettext as _

from mes.errors import MesError, ValidationFailed
from mes.forms import answer_refused, posted_id
from mes.models import Site
from mes.selectors import sites_visible_to
from quality.views._helpers import done
from quality.views.desk.forms import DeskForm

VIEW_NC = "quality.view_nonconformance"
AUTHOR = "quality.author_checklist"


def site_of(request) -> Site:
    """The site chosen in the form; none chosen (or one not visible), the person's first site."""
    site_id = posted_id(request, "site", required=False)
    visible = sites_visible_to(request.user)
    site = (visible.filter(pk=site_id).first() if site_id else None) or visible.first()
    if site is None:
        raise ValidationFailed(_("You see no site."), field="site")
    return site


def refuse(request, form: DeskForm, exc: MesError, *, page: str, partial: str, context: dict) -> HttpResponse:
    """The form again, as it was typed, with the refusal at its field and the refusal's status
    (see `mes.forms.answer_refused`)."""
    form.refuse(exc)
    context = {**context, partial: form, "error": exc, "refused_form": partial}
    return answer_refused(request, exc, page=page, partial=partial, context=context)


def do_verb(
    request,
    form: DeskForm,
    act: Callable[[dict], str | None],
    *,
    page: str,
    partial: str,
    context: Callable[[], dict],
    back: str,
    message: str,
) -> HttpResponse:
    """One verb of a desk page: `act(data)` with what was typed, then on to the page `act` names
    (or `back`) with `message`; refused, the verb's form again as it was typed, with the refusal
    at its field and the refusal's status."""
    try:
        to = act(form.checked()) or back
    except MesError as exc:
        return refuse(request, form, exc, page=page, partial=partial, context=context())
    return done(request, message, to)
