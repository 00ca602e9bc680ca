"""The admin in headless Chromium, served by gunicorn with DEBUG off."""

import re

import pytest

from items.models import Item
from tests.browser import launch_chromium
from tests.factories import DEFAULT_PASSWORD, SuperuserFactory, UserFactory

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing")

TIMEOUT_MS = 20_000


@pytest.mark.live
@pytest.mark.browser
def test_admin_logs_in_creates_an_item_and_sees_it_styled(gunicorn_server):
    admin = SuperuserFactory.create(email="browser.admin@example.com")
    owner = UserFactory.create(email="item.owner@example.com")
    UserFactory.create(email="someone.else@example.com")
    stylesheets: dict[str, int] = {}

    # The ORM stays outside the Playwright block: its event loop would make Django
    # refuse database calls from this thread.
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on(
            "response",
            lambda response: (
                stylesheets.__setitem__(response.url, response.status)
                if "/static/admin/css/" in response.url
                else None
            ),
        )

        page.goto(f"{gunicorn_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", admin.email.upper())  # any case of the email
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{gunicorn_server.url}/admin/")
        header_colour = page.eval_on_selector(
            "#header", "el => getComputedStyle(el).backgroundColor"
        )

        page.goto(f"{gunicorn_server.url}/admin/items/item/add/")
        page.fill("#id_title", "Bought in the browser")
        page.fill("#id_description", "Picked with the autocomplete.")
        page.click("#id_owner + .select2 .select2-selection")
        page.fill(".select2-search__field", "item.owner")
        page.click(".select2-results__option >> text=item.owner@example.com")
        page.click("input[name=_save]")
        page.wait_for_url(re.compile(r".*/admin/items/item/$"))
        message = page.inner_text(".messagelist")
        row = page.inner_text("#result_list tbody tr:first-child")
        browser.close()

    assert "was added successfully" in message
    assert "Bought in the browser" in row
    assert "item.owner@example.com" in row
    base_css = [url for url in stylesheets if "/static/admin/css/base" in url]
    assert base_css, f"base.css was not requested: {sorted(stylesheets)}"
    assert all(stylesheets[url] == 200 for url in base_css), stylesheets
    # Django's admin stylesheet paints the header; unstyled it would be transparent.
    assert header_colour not in ("rgba(0, 0, 0, 0)", "transparent")
    item = Item.objects.get(title="Bought in the browser")
    assert item.owner == owner
    assert item.description == "Picked with the autocomplete."
