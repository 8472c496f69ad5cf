"""With OIDC configured, a real browser sees only the sign-in screen on every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import wait_for_app
from tests.live_server import running_server

pytestmark = pytest.mark.e2e

SECRETS = """
[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "e2e-cookie-secret"
client_id = "agenttime"
client_secret = "secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


def test_every_page_asks_for_sign_in(page, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(SECRETS)
    with running_server(
        tmp_path / "gated.duckdb", extra_args=(f"--secrets.files={secrets}",)
    ) as base:
        for path in ("/waste", "/", "/upload"):  # a deep link first: no page runs before the gate
            page.goto(base + path)
            wait_for_app(page)
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            expect(page.get_by_text("This AgentTime server requires sign-in.")).to_be_visible()
            expect(page.get_by_text("Page not found")).to_have_count(0)  # a link's own page
            assert page.get_by_test_id("stFileUploader").count() == 0
            assert page.get_by_test_id("stMetric").count() == 0
