"""A shop that stops offering a size or colour takes carted lines of it out, and each buyer is told once.

Told on the cart page and in the cart API, like an ended hold; lines that go for other reasons (the buyer
removed it, the listing or the account was deleted) are not told this way.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from cart import services as cart_services
from cart.models import CartItem, EndedHold
from catalog.models import Offering
from catalog.services.offerings import VariationSpec, set_variations
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ring(shop, category):
    ring = ProductFactory(shop=shop, category=category, title="Stacking ring", price=Decimal("40.00"), quantity=5)
    set_variations(product=ring, variations=[VariationSpec("Size", ["6", "7", "8"])])
    Offering.objects.filter(product=ring).update(quantity=3)
    return ring


def size(ring, value: str) -> Offering:
    return Offering.objects.get(product=ring, option1__value=value)


def drop_size_8(ring, capture) -> None:
    with capture(execute=True):
        set_variations(product=ring, variations=[VariationSpec("Size", ["6", "7"])])


def test_the_cart_page_says_once_that_the_shop_stopped_offering_the_chosen_size(
    ring, buyer, other_buyer, django_capture_on_commit_callbacks
):
    CartItemFactory(user=buyer, product=ring, offering=size(ring, "8"))
    CartItemFactory(user=buyer, product=ring, offering=size(ring, "6"))  # a size the shop keeps, of the same ring
    CartItemFactory(user=other_buyer, product=ring, offering=size(ring, "7"))
    drop_size_8(ring, django_capture_on_commit_callbacks)

    browser = Client()
    browser.force_login(buyer)
    html = browser.get("/cart/").content.decode()
    assert "no longer offers the option you chose" in html and "Stacking ring" in html
    assert "Choose another option" in html and f'action="/cart/add/{ring.pk}/"' not in html
    assert list(CartItem.objects.filter(user=buyer).values_list("offering__option1__value", flat=True)) == ["6"]
    assert "no longer offers" not in browser.get("/cart/").content.decode()  # told once

    other = Client()
    other.force_login(other_buyer)
    assert "no longer offers" not in other.get("/cart/").content.decode()  # their size is still sold


def test_the_cart_api_tells_the_same_notices_once_with_their_reason(
    ring, buyer, shop, django_capture_on_commit_callbacks
):
    spoon = ProductFactory(shop=shop, title="Walnut spoon", quantity=1)
    cart_services.add_item(user=buyer, product_id=spoon.pk)
    CartItem.objects.filter(user=buyer).update(reserved_until=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        cart_services.delete_expired_reservations()
    CartItemFactory(user=buyer, product=ring, offering=size(ring, "8"))
    drop_size_8(ring, django_capture_on_commit_callbacks)

    api = APIClient()
    api.force_authenticate(buyer)
    body = api.get("/api/v1/cart").json()
    told = {n["title"]: (n["reason"], n["can_add_again"], n["product_id"]) for n in body["notices"]}
    assert told == {
        "Walnut spoon": ("hold_ended", True, spoon.pk),
        "Stacking ring": ("option_removed", True, ring.pk),
    }
    assert body["is_empty"] is True
    assert api.get("/api/v1/cart").json()["notices"] == []
    assert not EndedHold.objects.filter(user=buyer).exists()


def test_lines_that_go_for_other_reasons_are_not_told_as_a_removed_option(
    ring, buyer, other_buyer, django_capture_on_commit_callbacks
):
    line = CartItemFactory(user=buyer, product=ring, offering=size(ring, "7"))
    CartItemFactory(user=other_buyer, product=ring, offering=size(ring, "6"))
    with django_capture_on_commit_callbacks(execute=True):
        cart_services.remove_item(user=buyer, line_id=line.pk)  # the buyer took it out
        ring.delete()  # the seller deleted the whole listing: its page is gone, nothing to point at
    assert not EndedHold.objects.exists()
    api = APIClient()
    api.force_authenticate(other_buyer)
    assert api.get("/api/v1/cart").json()["notices"] == []
