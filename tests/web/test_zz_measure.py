"""Temporary: print the query counts of the hot pages (miss/hit), for the report."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.cart.factories import CartItemFactory
from tests.web.test_query_counts import _miss

pytestmark = pytest.mark.django_db


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return len(ctx.captured_queries)


def test_measure(client, catalog, buyer, django_capture_on_commit_callbacks):
    out = {}
    urls = {
        "home": "/",
        "category": "/c/home-living/?sort=price_asc",
        "search": "/search/?q=mug",
        "shop": "/shops/clay-studio/",
        "product": catalog["products"][3].get_absolute_url(),
    }
    variation = catalog.get("variation_product")
    if variation is not None:
        urls["product-variations"] = variation.get_absolute_url()
    for name, url in urls.items():
        _miss()
        out[name] = (_count(client, url), _count(client, url))
    client.force_login(buyer)
    client.get("/")
    with django_capture_on_commit_callbacks(execute=True):
        for product in catalog["products"][:6]:
            CartItemFactory(user=buyer, product=product)
    _miss()
    out["cart"] = (_count(client, "/cart/"), _count(client, "/cart/"))
    for name, url in urls.items():
        client.get(url)
        out[name + " signed-in hit"] = _count(client, url)
    print("\nCOUNTS", out)
