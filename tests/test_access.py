"""Sign-in gate: with OIDC configured every page waits for sign-in; without, local mode says so."""

from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "agenttime",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def run_app(db_path, secrets: dict | None = None) -> AppTest:
    os.environ["AGENTTIME_DB"] = str(db_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    return at.run()


def test_every_page_requires_sign_in_when_login_is_configured(db_path, con):
    at = run_app(db_path, {"auth": AUTH})
    assert not at.exception
    assert at.title[0].value == "AgentTime"
    assert at.button[0].label == "Sign in"
    assert not at.metric and not at.info  # no page content before sign-in


def test_local_mode_is_announced_in_the_sidebar(db_path, con):
    at = run_app(db_path)
    assert not at.exception
    assert "Local single-user mode" in at.sidebar.caption[0].value
