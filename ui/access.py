"""Who is looking: sign-in when OIDC is configured, a remembered reviewer name otherwise.

With an `[auth]` section in .streamlit/secrets.toml every page requires `st.login`.
Without one the app runs in local single-user mode and says so; reviewers then type
their name once and the browser remembers it in a cookie.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

import streamlit as st

REVIEWER_COOKIE = "agenttime_reviewer"


def login_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def needs_sign_in() -> bool:
    return login_configured() and not st.user.get("is_logged_in")


def sign_in_page() -> None:
    st.title("AgentTime")
    st.write("This AgentTime server requires sign-in.")
    st.button("Sign in", type="primary", on_click=st.login)


def signed_in_author() -> str | None:
    if login_configured() and st.user.get("is_logged_in"):
        return st.user.get("email") or st.user.get("name")
    return None


def reviewer_name() -> str | None:
    """The author for reviews: the signed-in user, else the name this browser gave."""
    remembered = st.context.cookies.get(REVIEWER_COOKIE)  # as remember_reviewer encoded it
    return (
        signed_in_author()
        or st.session_state.get("reviewer_name")
        or (unquote(remembered) if remembered else None)
    )


def remember_reviewer(name: str) -> None:
    st.session_state["reviewer_name"] = name
    # A JS string literal with "<" escaped: the name can close neither the string nor the script.
    value = json.dumps(name).replace("<", "\\u003c")
    st.iframe(
        "<script>document.cookie = "
        f"'{REVIEWER_COOKIE}=' + encodeURIComponent({value}) + "
        "'; path=/; max-age=31536000; SameSite=Lax';</script>",
        height=1,
    )


def show_identity_in_sidebar() -> None:
    if login_configured():
        st.sidebar.caption(f"Signed in as {signed_in_author()}")
        st.sidebar.button("Sign out", on_click=st.logout)
    else:
        st.sidebar.caption("Local single-user mode: no sign-in configured (see README).")
