"""Every write of quality goes through these functions."""

from quality.services.attachments import (
    operation_checklist_attach,
    operation_checklist_detach,
    operation_sop_attach,
)
from quality.services.forms import form_assign
from quality.services.holds import hold_place, hold_release
from quality.services.nonconformances import (
    nonconformance_close,
    nonconformance_disposition,
    nonconformance_investigate,
    nonconformance_open,
)
from quality.services.qualifications import qualification_grant, qualification_revoke
from quality.services.refusals import start_refusal_record
from quality.services.requests import Done
from quality.services.runs import (
    checklist_response_correct,
    checklist_run_save_progress,
    checklist_run_start,
    checklist_run_submit,
)
from quality.services.sops import (
    sop_acknowledge,
    sop_create,
    sop_image_add,
    sop_version_approve,
    sop_version_make_effective,
    sop_version_new_draft,
    sop_version_submit,
    sop_version_update,
)
from quality.services.spc import spc_judge_chart, spc_judge_responses, spc_judge_series
from quality.services.templates import (
    item_add,
    item_move,
    item_remove,
    item_update,
    template_create,
    version_approve,
    version_make_effective,
    version_new_draft,
    version_retire,
    version_return_to_draft,
    version_submit,
)
from quality.services.titles import title_translate

__all__ = [
    "Done",
    "checklist_response_correct",
    "checklist_run_save_progress",
    "checklist_run_start",
    "checklist_run_submit",
    "form_assign",
    "hold_place",
    "hold_release",
    "item_add",
    "item_move",
    "item_remove",
    "item_update",
    "nonconformance_close",
    "nonconformance_disposition",
    "nonconformance_investigate",
    "nonconformance_open",
    "operation_checklist_attach",
    "operation_checklist_detach",
    "operation_sop_attach",
    "qualification_grant",
    "qualification_revoke",
    "sop_acknowledge",
    "sop_create",
    "sop_image_add",
    "sop_version_approve",
    "sop_version_make_effective",
    "sop_version_new_draft",
    "sop_version_submit",
    "sop_version_update",
    "spc_judge_chart",
    "spc_judge_responses",
    "spc_judge_series",
    "start_refusal_record",
    "template_create",
    "title_translate",
    "version_approve",
    "version_make_effective",
    "version_new_draft",
    "version_retire",
    "version_return_to_draft",
    "version_submit",
]
