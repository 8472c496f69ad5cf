"""Router only: page config, navigation and the shared sidebar; each page lays itself out."""

import streamlit as st

st.set_page_config(page_title="AgentTime", page_icon="⏱", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon="📊", url_path="", default=True),
    st.Page("pages/upload.py", title="Upload", icon="📤", url_path="upload"),
]

st.navigation(PAGES).run()
