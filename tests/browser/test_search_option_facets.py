"""The search page's option facets in Chromium, JavaScript off: a shopper narrows sweaters by size and colour with
links alone, removes a filter with its chip, and axe-core finds no critical or serious violation (issue 22)."""

import pytest

from tests.browser.test_accessibility import axe  # noqa: F401  (fixture)
from tests.catalog.factories import ProductFactory
from tests.search.test_variations import add_variations, set_offering

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_script_page(browser):
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.fixture
def sweaters(db):
    from decimal import Decimal

    wool = ProductFactory(title="Wool sweater", price=Decimal("80.00"), tags=["sweater"])
    add_variations(wool, {"Size": ["S", "M"], "Colour": ["Green", "Navy"]})
    cotton = ProductFactory(title="Cotton sweater", price=Decimal("45.00"), tags=["sweater"])
    offerings = add_variations(cotton, {"Size": ["M", "L"], "Colour": ["Green"]})
    set_offering(offerings[("M", "Green")], quantity=0)


def test_search_page_with_option_facets_and_chips_has_no_blocking_axe_violations(live_server, page, axe, sweaters):  # noqa: F811
    found = axe(page, live_server.url + "/search/?q=sweater")
    found += axe(page, live_server.url + "/search/?q=sweater&size=m&colour=navy")
    assert found == [], "\n".join(found)


def test_shopper_narrows_sweaters_by_size_and_colour_without_javascript(live_server, no_script_page, sweaters):
    page = no_script_page
    page.goto(live_server.url + "/search/?q=sweater")
    page.get_by_role("region", name="Size").get_by_role("link", name="M 1").click()

    assert page.get_by_role("heading", name="Wool sweater").count() == 1
    assert page.get_by_role("heading", name="Cotton sweater").count() == 0  # its M is sold out
    page.get_by_role("region", name="Colour").get_by_role("link", name="Navy 1").click()
    assert "colour=navy" in page.url and "size=m" in page.url
    assert page.get_by_role("heading", name="Wool sweater").count() == 1

    page.get_by_role("link", name="Size: M (remove filter)").click()
    assert "size=" not in page.url and "colour=navy" in page.url
    assert page.get_by_role("heading", name="Wool sweater").count() == 1
