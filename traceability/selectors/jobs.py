"""Report jobs as the plant's monitoring sees them (read at each /metrics scrape)."""

from __future__ import annotations

from django.db.models import Count, Q

from traceability.models import ReportJob, ReportStatus


def report_job_gauges() -> dict[str, float]:
    counts = ReportJob.objects.aggregate(
        queued=Count("pk", filter=Q(status=ReportStatus.QUEUED)),
        running=Count("pk", filter=Q(status=ReportStatus.RUNNING)),
    )
    return {"queued": counts["queued"], "running": counts["running"]}
