"""The production API: master data, work orders and their transitions, ledger events, lots, OEE.

`serializers` and `lot_serializers` parse and render; `views` and `lots` check access and call one
service or selector each; `urls` routes them.
"""
