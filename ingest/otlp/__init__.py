"""OpenTelemetry ingest: every OTLP envelope in, one canonical span row out.

`envelope` (JSON shapes, read through `streams`) and `protobuf` (binary shapes) turn bytes
into neutral span dicts with plain attribute dicts; `conventions` (with `messages` for
content) maps those attributes onto the canonical columns whatever convention emitted them;
`adapter` registers the formats with the ingest registry and builds the Arrow table.
"""
