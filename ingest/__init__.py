"""Ingest adapters: trace files in, canonical span tables out. Pure; no Streamlit."""
