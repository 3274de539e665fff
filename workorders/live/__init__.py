"""Live line status: the projection of the ledger that dashboards watch, andon calls, machine counters.

`models` is imported by `workorders.models`; `projection` keeps the status rows current inside
each event's transaction (registered in `WorkordersConfig.ready`) and `broadcast` sends the
after-commit deltas to the dashboards' channel groups.
"""
