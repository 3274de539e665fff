"""Every write of production goes through these functions."""

from workorders.services.consumption import operation_consume
from workorders.services.dispatch import event_record
from workorders.services.downtime import downtime_end, downtime_start
from workorders.services.idempotency import Recorded
from workorders.services.lots import bom_check_acyclic, genealogy_link, lot_receive, numbers_allocate
from workorders.services.master import master_data_delete, master_data_save, routing_save
from workorders.services.operations import (
    operation_pause,
    operation_record_good,
    operation_record_scrap,
    operation_resume,
    operation_start,
)
from workorders.services.orders import (
    workorder_create,
    workorder_move,
    workorder_release_hold,
    workorder_transition,
    workorder_update,
)
from workorders.services.projections import rebuild_projections

__all__ = [
    "Recorded",
    "bom_check_acyclic",
    "downtime_end",
    "downtime_start",
    "event_record",
    "genealogy_link",
    "lot_receive",
    "master_data_delete",
    "master_data_save",
    "numbers_allocate",
    "operation_consume",
    "operation_pause",
    "operation_record_good",
    "operation_record_scrap",
    "operation_resume",
    "operation_start",
    "rebuild_projections",
    "routing_save",
    "workorder_create",
    "workorder_move",
    "workorder_release_hold",
    "workorder_transition",
    "workorder_update",
]
