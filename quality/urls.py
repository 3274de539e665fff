from django.urls import path

from quality.views import files, tablet
from quality.views.desk import (
    holds,
    items,
    nonconformances,
    overview,
    qualifications,
    sops,
    templates,
    versions,
)

VERSION = "quality/checklists/versions/<int:pk>"

desk = [
    path("quality/", overview.overview, name="quality_overview"),
    path("quality/summary/", overview.summary, name="quality_summary"),
    path("quality/spc/<int:item_pk>/<int:workstation_pk>/", overview.spc, name="quality_spc"),
    path(
        "quality/nonconformances/new/",
        nonconformances.nonconformance_open,
        name="quality_nonconformance_open",
    ),
    path(
        "quality/nonconformances/<int:pk>/",
        nonconformances.nonconformance_detail,
        name="quality_nonconformance",
    ),
    path(
        "quality/nonconformances/<int:pk>/investigate/",
        nonconformances.nonconformance_investigate,
        name="quality_nonconformance_investigate",
    ),
    path(
        "quality/nonconformances/<int:pk>/disposition/",
        nonconformances.nonconformance_disposition,
        name="quality_nonconformance_disposition",
    ),
    path(
        "quality/nonconformances/<int:pk>/close/",
        nonconformances.nonconformance_close,
        name="quality_nonconformance_close",
    ),
    path(
        "quality/nonconformances/<int:pk>/hold/",
        nonconformances.nonconformance_hold,
        name="quality_nonconformance_hold",
    ),
    path("quality/holds/new/", holds.hold_place, name="quality_hold_place"),
    path("quality/holds/<int:pk>/release/", holds.hold_release, name="quality_hold_release"),
    path("quality/checklists/", templates.templates, name="quality_templates"),
    path("quality/checklists/new/", templates.template_create, name="quality_template_create"),
    path(f"{VERSION}/", versions.version_detail, name="quality_version"),
    path(f"{VERSION}/submit/", versions.version_submit, name="quality_version_submit"),
    path(f"{VERSION}/titles/", versions.version_titles, name="quality_version_titles"),
    path(f"{VERSION}/return/", versions.version_return, name="quality_version_return"),
    path(f"{VERSION}/approve/", versions.version_approve, name="quality_version_approve"),
    path(f"{VERSION}/effective/", versions.version_effective, name="quality_version_effective"),
    path(f"{VERSION}/retire/", versions.version_retire, name="quality_version_retire"),
    path(f"{VERSION}/new-draft/", versions.version_new_draft, name="quality_version_new_draft"),
    path(f"{VERSION}/attach/", versions.version_attach, name="quality_version_attach"),
    path(f"{VERSION}/detach/", versions.version_detach, name="quality_version_detach"),
    path(f"{VERSION}/assign/", versions.version_assign, name="quality_version_assign"),
    path(f"{VERSION}/items/", items.item_save, name="quality_item_add"),
    path(f"{VERSION}/items/<int:item_pk>/", items.item_save, name="quality_item_save"),
    path(f"{VERSION}/items/<int:item_pk>/move/", items.item_move, name="quality_item_move"),
    path("quality/sops/", sops.sops, name="quality_sops"),
    path("quality/sops/new/", sops.sop_create, name="quality_sop_create"),
    path("quality/sops/versions/<int:pk>/", sops.sop_version, name="quality_sop_version"),
    path("quality/sops/versions/<int:pk>/update/", sops.sop_update, name="quality_sop_update"),
    path("quality/sops/versions/<int:pk>/images/", sops.sop_image, name="quality_sop_image_add"),
    path("quality/sops/versions/<int:pk>/submit/", sops.sop_submit, name="quality_sop_submit"),
    path("quality/sops/versions/<int:pk>/approve/", sops.sop_approve, name="quality_sop_approve"),
    path("quality/sops/versions/<int:pk>/effective/", sops.sop_effective, name="quality_sop_effective"),
    path("quality/sops/versions/<int:pk>/new-draft/", sops.sop_new_draft, name="quality_sop_new_draft"),
    path("quality/sops/versions/<int:pk>/attach/", sops.sop_attach, name="quality_sop_attach"),
    path("quality/sops/versions/<int:pk>/titles/", sops.sop_titles, name="quality_sop_titles"),
    path("quality/sops/unread/", qualifications.sops_unread, name="quality_sops_unread"),
    path("quality/qualifications/", qualifications.qualifications, name="quality_qualifications"),
    path(
        "quality/qualifications/grant/",
        qualifications.qualification_grant_view,
        name="quality_qualification_grant",
    ),
    path(
        "quality/qualifications/<int:pk>/revoke/",
        qualifications.qualification_revoke_view,
        name="quality_qualification_revoke",
    ),
]

urlpatterns = [*tablet.urlpatterns, *desk, *files.urlpatterns]
