"""The production record of a work order (eBR/DHR) and its review by exception.

The record is a read model: assembled on demand from what production and quality stored (the
ledger, the operations, consumptions, lots, checklist runs, SOP acknowledgements,
nonconformances, holds, signatures and history), never typed twice. Its exceptions are computed
from it. The only thing stored here is the review: its status, the reviewer's comments per
exception and the decision, signed, with the hash of the record it covers.
"""
