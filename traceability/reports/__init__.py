"""Reports and exports for the auditor: the trace report (PDF, CSV, JSON, EPCIS 2.0) and the
audit-trail report (PDF, CSV). Each builder returns a `Built` (bytes, name, type, hash)."""

from traceability.reports.base import Built, Progress

__all__ = ["Built", "Progress"]
