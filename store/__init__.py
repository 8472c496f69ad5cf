"""DuckDB store: schema, connection rules, the one write path and named read queries."""
