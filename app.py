"""Router only: page config, sign-in gate, navigation and the shared sidebar."""

import streamlit as st

from ui.access import require_sign_in, show_identity_in_sidebar

st.set_page_config(page_title="AgentTime", page_icon="⏱", layout="wide")
require_sign_in()

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon="📊", url_path="", default=True),
    st.Page("pages/upload.py", title="Upload", icon="📤", url_path="upload"),
]

page = st.navigation(PAGES)
show_identity_in_sidebar()
page.run()
