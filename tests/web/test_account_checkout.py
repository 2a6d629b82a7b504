"""Checkout and the address book: the default address is picked, another saved one can be, or a new one typed
(and saved when asked); the order history by state, a page at a time, within a query budget."""

import pytest

from accounts.models import Address
from accounts.services import addresses as address_services
from orders.models import Checkout, Order
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.web.test_buying_pages import ADDRESS, _token

pytestmark = pytest.mark.django_db

HOME = {"name": "Bea Buyer", "line1": "1 Market Street", "city": "Hudson", "postal_code": "12534", "country": "US"}
CABIN = {
    "name": "Bea at the cabin",
    "line1": "7 Lake Road",
    "city": "Lake Placid",
    "region": "NY",
    "postal_code": "12946",
    "country": "US",
}


@pytest.fixture
def cart_of(client, catalog, buyer):
    client.force_login(buyer)
    client.post(f"/cart/add/{catalog['products'][0].pk}/")
    return client


def _pay(client, **fields):
    form = {"payment_method": "pm_card_visa", "token": _token(client), **fields}
    return client.post("/orders/checkout/", form)


def test_without_saved_addresses_the_checkout_form_is_as_before(cart_of):
    page = cart_of.get("/orders/checkout/").content.decode()
    assert 'name="address_choice"' not in page and 'name="ship_line1"' in page


def test_the_default_address_is_picked_and_used(cart_of, buyer):
    address_services.create_address(owner=buyer, **CABIN)
    home = address_services.create_address(owner=buyer, make_default=True, **HOME)
    page = cart_of.get("/orders/checkout/").content.decode()
    assert f'value="{home.pk}" id="id_address_choice_' in page
    checked = page.split('name="address_choice"')
    assert any(f'value="{home.pk}"' in part.split(">")[0] and "checked" in part.split(">")[0] for part in checked)
    assert "Bea at the cabin, 7 Lake Road, 12946 Lake Placid, NY, US" in page
    response = _pay(cart_of, address_choice=str(home.pk))
    assert response.status_code == 303
    checkout = Checkout.objects.get()
    assert (checkout.ship_name, checkout.ship_line1, checkout.ship_postcode) == (
        "Bea Buyer",
        "1 Market Street",
        "12534",
    )


def test_another_saved_address_can_be_picked(cart_of, buyer):
    address_services.create_address(owner=buyer, **HOME)
    cabin = address_services.create_address(owner=buyer, **CABIN)
    assert _pay(cart_of, address_choice=str(cabin.pk)).status_code == 303
    checkout = Checkout.objects.get()
    assert (checkout.ship_city, checkout.ship_region) == ("Lake Placid", "NY")


def test_a_new_address_must_be_complete_and_can_be_saved(cart_of, buyer):
    address_services.create_address(owner=buyer, **HOME)
    missing = _pay(cart_of, address_choice="new", ship_name="Bea")
    assert missing.status_code == 400 and "This field is required" in missing.content.decode()
    assert not Order.objects.exists()
    typed = {k: v for k, v in ADDRESS.items() if k.startswith("ship_")} | {"ship_line1": "9 New Street"}
    assert _pay(cart_of, address_choice="new", save_address="on", **typed).status_code == 303
    assert Checkout.objects.get().ship_line1 == "9 New Street"
    assert sorted(Address.objects.filter(owner=buyer).values_list("line1", "is_default")) == [
        ("1 Market Street", True),
        ("9 New Street", False),
    ]


def test_someone_elses_address_cannot_be_picked(cart_of, buyer, other_buyer):
    address_services.create_address(owner=buyer, **HOME)
    theirs = address_services.create_address(owner=other_buyer, **CABIN)
    response = _pay(cart_of, address_choice=str(theirs.pk))
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_the_order_history_filters_by_state_and_pages(client, buyer, other_buyer):
    client.force_login(buyer)
    for status in ["paid", "pending_payment", "shipped", "delivered", "cancelled"]:
        OrderItemFactory(order=OrderFactory(buyer=buyer, status=status))
    OrderFactory(buyer=other_buyer, status="paid")
    counts = {
        state: client.get(f"/orders/?state={state}").content.decode().count('class="order-card"')
        for state in ["", "open", "shipped", "delivered", "cancelled"]
    }
    assert counts == {"": 5, "open": 2, "shipped": 1, "delivered": 1, "cancelled": 1}
    bad = client.get("/orders/?state=lost")
    assert bad.status_code == 400 and "no such filter" in bad.content.decode()
    for _ in range(20):
        OrderFactory(buyer=buyer, status="paid")
    first = client.get("/orders/?state=open").content.decode()
    assert first.count('class="order-card"') == 20 and "Page 1 of 2" in first and "?state=open&amp;page=2" in first
    second = client.get("/orders/?state=open&page=2").content.decode()
    assert second.count('class="order-card"') == 2


def test_the_order_history_has_a_query_budget(client, buyer, django_assert_max_num_queries):
    client.force_login(buyer)
    client.get("/orders/")  # session and caches warm
    for _ in range(15):
        OrderItemFactory(order=OrderFactory(buyer=buyer))
    with django_assert_max_num_queries(9):  # session, user, count, orders (+shop, checkout), items, products, header
        response = client.get("/orders/?state=open")
    assert response.content.decode().count('class="order-card"') == 15
