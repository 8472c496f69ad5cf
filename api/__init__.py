"""HTTP handlers mounted by server.py next to the Streamlit UI (Starlette routes)."""
