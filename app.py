"""Router only: page config, sign-in gate, navigation and the shared sidebar."""

import streamlit as st

from ui.access import needs_sign_in, show_identity_in_sidebar, sign_in_page
from ui.filters import show_sidebar_filters
from ui.share import refresh_copy_link

st.set_page_config(page_title="AgentTime", page_icon=":material/timer:", layout="wide")

PAGES = {
    "Explore": [
        st.Page(
            "views/overview.py",
            title="Overview",
            icon=":material/dashboard:",
            url_path="",
            default=True,
        ),
        st.Page("views/upload.py", title="Upload", icon=":material/upload:", url_path="upload"),
        st.Page(
            "views/trajectories.py",
            title="Trajectories",
            icon=":material/list:",
            url_path="trajectories",
        ),
        st.Page(
            "views/trajectory.py",
            title="Trajectory",
            icon=":material/timeline:",
            url_path="trajectory",
        ),
        st.Page(
            "views/compare.py",
            title="Compare",
            icon=":material/compare_arrows:",
            url_path="compare",
        ),
    ],
    "Analyse": [
        st.Page("views/waste.py", title="Waste", icon=":material/delete_sweep:", url_path="waste"),
        st.Page(
            "views/models.py", title="Models & cost", icon=":material/payments:", url_path="models"
        ),
        st.Page(
            "views/escalation.py",
            title="Bigger model?",
            icon=":material/trending_up:",
            url_path="escalation",
        ),
    ],
    "Review": [
        st.Page(
            "views/reviews.py",
            title="Review queue",
            icon=":material/rate_review:",
            url_path="reviews",
        ),
    ],
    "Configure": [
        st.Page(
            "views/settings.py", title="Settings", icon=":material/settings:", url_path="settings"
        ),
    ],
}

if needs_sign_in():
    # Navigation is always declared, so no URL can reach a page before sign-in. Every page's
    # address leads to the sign-in screen: a link a colleague sent showed a "Page not found"
    # dialog over it, and the sign-in then returns to the page the link named.
    paths = [page.url_path for pages in PAGES.values() for page in pages if page.url_path]
    gates = [st.Page(sign_in_page, title="Sign in", default=True)] + [
        st.Page(sign_in_page, title="Sign in", url_path=path) for path in paths
    ]
    st.navigation(gates, position="hidden").run()
else:
    page = st.navigation(PAGES)
    show_sidebar_filters()
    show_identity_in_sidebar()
    try:
        page.run()
    finally:  # also when the page stops early: its link is as complete as the page got
        refresh_copy_link()
