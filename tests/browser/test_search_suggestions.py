"""Suggestions under the header search box (htmx): shown as the shopper types, reachable by mouse and keyboard."""

import re

import pytest

from search.backends.postgres import refresh_vocabulary
from tests.web.conftest import catalog  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def indexed_catalog(catalog):  # noqa: F811
    refresh_vocabulary()  # a debounced Celery task in production
    return catalog


def test_typing_shows_suggestions_and_clicking_a_category_opens_it(live_server, page, shot, indexed_catalog):
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.goto(live_server.url + "/")
    page.get_by_label("Search for anything").press_sequentially("mu")

    suggestions = page.locator("#site-search-suggestions")
    suggestions.get_by_role("link").first.wait_for()
    assert suggestions.get_by_role("link").all_inner_texts() == ["mug", "Mugs category"]
    shot(page, "13_search_suggestions", full_page=False)

    assert console_errors == []  # nothing refused by the Content-Security-Policy (report-only here), no htmx error

    suggestions.get_by_role("link", name="Mugs category").click()
    page.wait_for_url(re.compile(r"/c/mugs/$"))
    assert page.locator("h1").inner_text().startswith("Mugs")


def test_keyboard_users_tab_into_the_suggestions_and_escape_closes_them(live_server, page, indexed_catalog):
    page.goto(live_server.url + "/")
    box = page.get_by_label("Search for anything")
    box.press_sequentially("pri")
    suggestions = page.locator("#site-search-suggestions")
    suggestions.get_by_role("link", name="print", exact=True).wait_for()

    page.keyboard.press("Escape")
    assert suggestions.get_by_role("link").count() == 0
    assert page.evaluate("document.activeElement.id") == "site-search-q"

    box.press_sequentially("nt")  # "print"
    suggestions.get_by_role("link", name="print", exact=True).wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "print"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=print$"))
    assert page.locator("h1").inner_text() == "Results for “print” (10 items)"
