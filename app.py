"""Router only: page config, sign-in gate, navigation and the shared sidebar."""

import streamlit as st

from ui.access import needs_sign_in, show_identity_in_sidebar, sign_in_page
from ui.filters import show_sidebar_filters

st.set_page_config(page_title="AgentTime", page_icon=":material/timer:", layout="wide")

PAGES = {
    "Explore": [
        st.Page(
            "pages/overview.py",
            title="Overview",
            icon=":material/dashboard:",
            url_path="",
            default=True,
        ),
        st.Page("pages/upload.py", title="Upload", icon=":material/upload:", url_path="upload"),
    ],
    "Review": [
        st.Page(
            "pages/reviews.py",
            title="Review queue",
            icon=":material/rate_review:",
            url_path="reviews",
        ),
    ],
}

if needs_sign_in():
    # Navigation is always declared, so no URL can reach a page before sign-in.
    st.navigation([st.Page(sign_in_page, title="Sign in", default=True)], position="hidden").run()
else:
    page = st.navigation(PAGES)
    show_sidebar_filters()
    show_identity_in_sidebar()
    page.run()
