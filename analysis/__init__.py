"""Metrics over the store: turns, time split, waste, cost, escalation, routing. No Streamlit."""
