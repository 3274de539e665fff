"""Machine data over MQTT: topics `mes/<site>/<line>/<workstation>/state|count|alarm`, JSON payloads.

`payloads` parses and validates a message, `ingestor` subscribes and turns messages into calls of
the production services (workorders.services.machine and .andon); `manage.py ingest_mqtt` runs it.
`simulator` makes the demo lines' traffic (`manage.py simulate_line`, or a thread of the embedded
demo server).
"""
