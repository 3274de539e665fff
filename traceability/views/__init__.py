"""HTML views of traceability: the trace page and report jobs here; the audit pages beside them."""
