"""Contract: the API and the HTML checkout are two adapters over one service.

One test drives both with identical carts and the same address and card, then compares
every order they produced, line by line.
"""

from decimal import Decimal

import pytest

from cart import services as cart_services
from cart.models import CartItem
from catalog.models import Product
from etsy.breakers import reset_all
from orders.models import Checkout, Order
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada Buyer",
    "line1": "1 Market Street",
    "line2": "Apt 2",
    "city": "Hudson",
    "postcode": "12534",
    "country": "US",
}
CARD = "pm_card_visa"


def _orders_of(user) -> list[tuple]:
    checkout = Checkout.objects.get(buyer=user)
    rows = []
    for order in Order.objects.filter(buyer=user).prefetch_related("items").order_by("shop_id"):
        rows.append(
            (
                order.shop_id,
                order.status,
                order.subtotal,
                order.shipping,
                order.total,
                sorted((i.product_id, i.title_at_purchase, i.price_at_purchase, i.quantity) for i in order.items.all()),
            )
        )
    address = (
        checkout.ship_name,
        checkout.ship_line1,
        checkout.ship_line2,
        checkout.ship_city,
        checkout.ship_postcode,
        checkout.ship_country,
    )
    return [rows, address, checkout.total, checkout.payment_status, checkout.card_last4]


def test_api_and_html_checkout_produce_the_same_orders(client, client_for, category):
    reset_all()
    shops = [
        ShopFactory(shipping_base=Decimal("4.00"), shipping_additional=Decimal("1.00")),
        ShopFactory(shipping_base=Decimal("5.00"), free_shipping_threshold=Decimal("50.00")),
    ]
    products = [
        ProductFactory(shop=shops[0], category=category, price=Decimal("12.35"), quantity=10),
        ProductFactory(shop=shops[0], category=category, price=Decimal("3.10"), quantity=10),
        ProductFactory(shop=shops[1], category=category, price=Decimal("26.00"), quantity=10),
    ]
    api_buyer, web_buyer = UserFactory(), UserFactory()
    for user in (api_buyer, web_buyer):
        cart_services.add_item(user=user, product_id=products[0].pk, quantity=2)
        cart_services.add_item(user=user, product_id=products[1].pk)
        cart_services.add_item(user=user, product_id=products[2].pk, quantity=2)

    api_response = client_for(api_buyer).post(
        "/api/v1/checkout",
        {"address": ADDRESS, "payment_method": CARD},
        format="json",
        HTTP_IDEMPOTENCY_KEY="contract-1",
    )
    assert api_response.status_code == 201, api_response.content

    client.force_login(web_buyer)
    form = {f"ship_{k}": v for k, v in ADDRESS.items()} | {"payment_method": CARD, "token": "contract-web-1"}
    web_response = client.post("/orders/checkout/", form)
    assert web_response.status_code in (302, 303), web_response.content[:500]

    api_orders, web_orders = _orders_of(api_buyer), _orders_of(web_buyer)
    assert api_orders == web_orders
    rows = api_orders[0]
    assert [r[0] for r in rows] == sorted(s.pk for s in shops)  # one order per shop
    assert rows[0][2:5] == (Decimal("27.80"), Decimal("6.00"), Decimal("33.80"))
    assert rows[1][2:5] == (Decimal("52.00"), Decimal("0.00"), Decimal("52.00"))  # free shipping threshold
    # The API's body describes exactly those orders.
    body = api_response.json()
    assert sorted((o["shop"]["id"], o["total"]) for o in body["orders"]) == [(r[0], f"{r[4]:.2f}") for r in rows]
    # Both took stock the same way and emptied both carts.
    assert [Product.objects.get(pk=p.pk).quantity for p in products] == [6, 8, 6]
    assert not CartItem.objects.filter(user__in=[api_buyer, web_buyer]).exists()
