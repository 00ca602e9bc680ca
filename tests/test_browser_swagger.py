"""Swagger UI in headless Chromium: Authorize with the password flow, call the API."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import launch_chromium
from tests.factories import DEFAULT_PASSWORD

SCREENSHOT = Path(__file__).resolve().parent.parent / ".pytest_cache" / "swagger.png"
TIMEOUT_MS = 30_000


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's Chromium under Playwright; the test is skipped where it can't run."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.mark.browser
@pytest.mark.live
def test_swagger_authorize_with_password_flow_then_read_me(
    user, gunicorn_server, browser
):  # `user` first: no database access once Playwright's event loop runs
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.set_default_timeout(TIMEOUT_MS)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{gunicorn_server.url}/api/v1/docs")

    try:
        page.click("button.authorize")
        password_flow = page.locator(".auth-container", has_text="OAuth2PasswordBearer")
        password_flow.locator("#oauth_username").fill(user.email)
        password_flow.locator("#oauth_password").fill(DEFAULT_PASSWORD)
        password_flow.locator("button.authorize").click()
        password_flow.locator("h6", has_text="Authorized").wait_for()
        password_flow.locator("button.btn-done").click()
        operation = page.locator("#operations-users-users_me_retrieve")
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        operation.locator("button.execute").click()
        status = operation.locator(
            ".live-responses-table td.response-col_status:not(.col_header)"
        )
        status.wait_for()
        body = operation.locator(".live-responses-table .response-col_description pre")
        body.first.wait_for()

    finally:  # the screenshot shows where a failure stopped
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert status.first.inner_text().strip() == "200"
    assert user.email in body.first.inner_text()
    assert all(url.startswith(gunicorn_server.url) for url in requests), requests
