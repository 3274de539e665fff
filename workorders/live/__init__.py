"""Live line status: the projection of the ledger that dashboards watch, andon calls, machine counters.

`models` is registered with Django by `WorkordersConfig.import_models`; `projection` keeps the
status rows current inside each event's transaction, `selectors` reads snapshots and deltas from
them, and `broadcast` holds the in-transaction event handler (registered in
`WorkordersConfig.ready`) and sends the after-commit deltas to the dashboards' channel groups.
Modules import downwards only: broadcast -> selectors -> projection -> models -> states.
"""
