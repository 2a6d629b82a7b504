"""Query budgets of the hot pages, on a cold cache (miss) and a warm one (hit).

Budgets (stated here and in the report):
  page                          miss   hit (anonymous)   hit (signed-in)
  home                          <= 6   0                 <= 2
  category                      <= 6   0                 <= 2
  search (PostgreSQL backend)   <= 8   0                 <= 2
  product                       <= 14  0                 <= 2   (a cold miss also computes the
                                             category trending pool the beat job keeps warm)
  shop                          <= 8   0                 <= 2
  cart (signed-in, 2 shops)     <= 9   -                 <= 1   (lines written through; products,
                                             stock and shops from their caches; the miss
                                             also counts the header's unread messages, which
                                             the cart page left out before)
A signed-in hit costs the user row (auth middleware) and, on the home page, the recent
views when Redis has none; the page, cart badge and favorites come from the cache. A cold
cart also reads the session row, the user and the category tree (navigation).
"""

import pytest
from django.core.cache import caches

from etsy import near_cache
from tests.cart.factories import CartItemFactory

pytestmark = pytest.mark.django_db


def _miss():
    caches["default"].delete_pattern("*")
    assert near_cache.sync()  # the worker's kept copies (sessions, accounts, pages) go too, as they would in a moment


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    client.get("/")  # the session row is read once and cached
    return client


PAGES = {
    "home": ("/", 6),
    "category": ("/c/home-living/?sort=price_asc", 6),
    "search": ("/search/?q=mug", 8),
    "shop": ("/shops/clay-studio/", 8),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_hot_page_query_budget_on_miss_and_hit_for_visitors(name, client, catalog, django_assert_max_num_queries):
    url, miss_budget = PAGES[name]
    _miss()
    with django_assert_max_num_queries(miss_budget):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(0):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("name", list(PAGES))
def test_hot_page_query_budget_on_hit_for_signed_in_buyers(name, catalog, signed_in, django_assert_max_num_queries):
    url, _ = PAGES[name]
    signed_in.get(url)
    with django_assert_max_num_queries(2):
        assert signed_in.get(url).status_code == 200


def test_product_page_query_budget(client, catalog, django_assert_max_num_queries):
    url = catalog["products"][3].get_absolute_url()
    _miss()
    with django_assert_max_num_queries(14):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(0):
        assert client.get(url).status_code == 200


def test_product_page_query_budget_signed_in(catalog, signed_in, django_assert_max_num_queries):
    url = catalog["products"][3].get_absolute_url()
    signed_in.get(url)
    with django_assert_max_num_queries(2):
        assert signed_in.get(url).status_code == 200


def test_product_page_miss_does_not_grow_with_gallery_or_similar_items(client, catalog, django_assert_max_num_queries):
    from tests.web.conftest import make_image

    product = catalog["products"][3]
    for i in range(1, 6):
        make_image(product, position=i)
    _miss()
    with django_assert_max_num_queries(14):
        assert client.get(product.get_absolute_url()).status_code == 200


def test_cart_page_query_budget_on_miss_and_hit(
    catalog, signed_in, buyer, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the cart is written through after each commit
        for product in catalog["products"][:6]:  # both shops
            CartItemFactory(user=buyer, product=product)
    _miss()
    with django_assert_max_num_queries(9):
        response = signed_in.get("/cart/")
    assert response.status_code == 200
    assert response.content.decode().count('class="cart-group"') == 2
    with django_assert_max_num_queries(1):
        response = signed_in.get("/cart/")
    assert response.content.decode().count('<li class="cart-line') == 6
