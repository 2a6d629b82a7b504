"""A signed-in buyer's blocks (favorites, cart badge, unread count) and cart page kept in the web process.

The product page and the cart page read them from this process's near copies (etsy.near_cache):
no Redis round trip when warm, every change shown at once (this process forgets its own copy when
it writes; Redis tells the others), and a copy is only ever one buyer's.
"""

from __future__ import annotations

import pytest
import redis.connection
from django.test import Client

from cart.caching import ended_holds_key
from cart.models import CartItem
from catalog import personalization
from etsy import near_cache
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import FavoriteFactory, ProductFactory
from tests.worker import run_in_another_process


@pytest.fixture
def redis_sends(monkeypatch):
    """Every command or pipeline sent to Redis by this thread (one round trip each)."""
    real = redis.connection.AbstractConnection.send_packed_command
    sent = []

    def counting(self, command, check_health=True):
        sent.append(1)
        return real(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent


@pytest.fixture
def near():
    kept = near_cache.get()
    assert kept is not None and kept.sync(), "the invalidation listener did not start"
    return kept


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def warm(browser: Client, url: str, near) -> str:
    """Request ``url`` until this process keeps what it reads (the first request fills Redis, the next keep it)."""
    browser.get(url)
    personalization.send_buffered_views()
    assert near.sync()
    return browser.get(url).content.decode()


def test_a_favorite_added_shows_at_once_on_a_product_page_this_process_kept(
    buyer, product, near, django_capture_on_commit_callbacks
):
    browser = signed_in(buyer)
    url = product.get_absolute_url()
    assert "In your favorites" not in warm(browser, url, near)
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post(f"/favorites/listing/{product.pk}/", {"next": url}).status_code == 302
    assert "In your favorites" in browser.get(url).content.decode()  # no wait for Redis's message


@pytest.mark.django_db(transaction=True)
def test_a_favorite_added_by_another_process_shows_once_redis_says_so(buyer, product, near):
    browser = signed_in(buyer)
    url = product.get_absolute_url()
    assert "In your favorites" not in warm(browser, url, near)
    run_in_another_process(
        "from catalog.services.favorites import set_favorite; from accounts.models import User; "
        f"set_favorite(user=User.objects.get(pk={buyer.pk}), product_id={product.pk}, favorite=True)"
    )
    assert near.sync()
    assert "In your favorites" in browser.get(url).content.decode()


def test_another_buyer_never_sees_this_buyers_favorites_or_cart_badge(buyer, other_buyer, product, category, near):
    FavoriteFactory(user=buyer, product=product)
    CartItemFactory(user=buyer, product=ProductFactory(shop=product.shop, category=category, quantity=5), quantity=2)
    mine, theirs = signed_in(buyer), signed_in(other_buyer)
    url = product.get_absolute_url()
    for _ in range(2):  # the second pass is served from this process's copies
        warm(mine, url, near)
        warm(theirs, url, near)
        my_page, their_page = mine.get(url).content.decode(), theirs.get(url).content.decode()
        assert "In your favorites" in my_page and "data-cart-count>2<" in my_page
        assert "In your favorites" not in their_page and "data-cart-count>0<" in their_page


def test_a_warm_signed_in_product_page_sends_nothing_to_redis(buyer, product, near, redis_sends):
    browser = signed_in(buyer)
    url = product.get_absolute_url()
    warm(browser, url, near)
    before = len(redis_sends)
    assert browser.get(url).status_code == 200
    assert len(redis_sends) == before  # session, account, page, stock, favorites, badges; the view waits in the batch


@pytest.fixture
def cart_of_three(buyer, shop, category, django_capture_on_commit_callbacks):
    from tests.shops.factories import ShopFactory

    second_shop = ShopFactory(name="Second Shop", slug="second-shop")
    browser = signed_in(buyer)
    for product in [
        ProductFactory(shop=shop, category=category, quantity=5),
        ProductFactory(shop=shop, category=category, quantity=5),
        ProductFactory(shop=second_shop, category=category, quantity=5),
    ]:
        with django_capture_on_commit_callbacks(execute=True):  # the cart is written through, as after a commit
            assert browser.post(f"/cart/add/{product.pk}/", {"quantity": "1"}).status_code == 302
    return browser


def test_a_warm_cart_page_sends_nothing_to_redis_and_a_change_shows_at_once(
    buyer, cart_of_three, near, redis_sends, django_capture_on_commit_callbacks
):
    html = warm(cart_of_three, "/cart/", near)
    assert html.count('<li class="cart-line') == 3
    before = len(redis_sends)
    assert cart_of_three.get("/cart/").status_code == 200
    assert len(redis_sends) == before
    line = CartItem.objects.filter(user=buyer).order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        assert cart_of_three.post(f"/cart/update/{line.pk}/", {"quantity": "3"}).status_code == 302
    html = cart_of_three.get("/cart/").content.decode()
    assert "data-cart-count>5<" in html  # 3 + 1 + 1, read from Redis again: the write dropped the copies


@pytest.mark.django_db(transaction=True)
def test_holds_ended_by_the_sweep_in_another_process_are_told_on_the_kept_cart_page(
    buyer, cart_of_three, near, monkeypatch
):
    from cart import selectors

    warm(cart_of_three, "/cart/", near)  # keeps "no ended holds" (0) as well
    asked = []
    real = selectors.list_ended_holds
    monkeypatch.setattr(selectors, "list_ended_holds", lambda *, user: asked.append(user.pk) or real(user=user))
    cart_of_three.get("/cart/")
    assert asked == []
    run_in_another_process(f"from django.core.cache import cache; cache.set('{ended_holds_key(buyer.pk)}', 1, 600)")
    assert near.sync()
    cart_of_three.get("/cart/")
    assert asked == [buyer.pk]
