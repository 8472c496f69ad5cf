"""Shared Streamlit pieces: the DB handle, URL-bound state, formatting and figures."""
