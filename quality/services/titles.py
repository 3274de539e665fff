"""The titles of checklists and SOPs in other languages.

A title belongs to the document, not to a version, so no approval covers it (a version's own texts
are signed with it); like the title itself, its translations change with who and why in the
document's history.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from mes.content import clean_translations
from mes.models import User
from quality.content import TITLE_TEXTS
from quality.models import ChecklistTemplate, SopDocument
from quality.services.records import lock, require, save

AUTHORS = {ChecklistTemplate: "quality.author_checklist", SopDocument: "quality.author_sop"}


@transaction.atomic
def title_translate(
    *, model: type[ChecklistTemplate | SopDocument], pk: int, user: User, translations
) -> ChecklistTemplate | SopDocument:
    """Replace the title's translations of a checklist or an SOP; a language left blank shows the
    title in the site's language."""
    require(user, AUTHORS[model], _("You may not change this title."))
    cleaned = clean_translations(translations, TITLE_TEXTS)
    document = lock(model, pk)
    document.translations = cleaned
    save(document, user=user, reason=gettext_noop("Title translated"), fields=["translations"])
    return document
