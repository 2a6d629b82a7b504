"""Script tags in every text field a user controls are rendered escaped: buyer pages, seller pages,
the admin, search echoes and emails (the HTML part)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from cart.models import CartItem
from etsy.outbox import DONE
from orders import events
from orders.models import Order, Review
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RAW = [b"<script>alert(", b"<img src=x onerror"]
ESCAPED = b"&lt;script&gt;alert("


def assert_escaped(content: bytes, where: str, must_show: bool = True) -> None:
    for raw in RAW:
        assert raw not in content, f"unescaped script in {where}"
    if must_show:
        assert ESCAPED in content, f"the payload is not shown (escaped) in {where}"


@pytest.fixture
def hostile_world():
    owner = UserFactory(display_name=f"Seller {XSS}"[:80], is_staff=True)
    shop = ShopFactory(owner=owner, name=f"Shop {XSS}"[:100], description=XSS, location=XSS[:100], policy_text=XSS)
    category = CategoryFactory(name=f"Cat {XSS}"[:100], slug="xss-cat")
    product = ProductFactory(
        shop=shop,
        category=category,
        title=f"Bowl {XSS}",
        description=XSS,
        tags=["<b>tag</b>"],
        price=Decimal("9.00"),
        quantity=4,
    )
    buyer = UserFactory(display_name=f"Buyer {XSS}"[:80])
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED)
    order.checkout.ship_name = XSS[:120]
    order.checkout.ship_line1 = XSS[:200]
    order.checkout.save()
    OrderItemFactory(order=order, product=product, title_at_purchase=product.title)
    Review.objects.create(order=order, shop=shop, reviewer=buyer, rating=4, comment=XSS, seller_reply=XSS)
    return {"shop": shop, "product": product, "buyer": buyer, "owner": owner, "order": order, "category": category}


def test_buyer_pages_escape_every_user_text(client, hostile_world):
    w = hostile_world
    product, shop = w["product"], w["shop"]
    for url in [
        "/",
        f"/c/{w['category'].slug}/",
        product.get_absolute_url(),
        f"/shops/{shop.slug}/",
        "/search/?q=bowl",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content, url, must_show=url != "/")
    echoed = client.get("/search/", {"q": XSS})
    assert echoed.status_code == 200
    assert_escaped(echoed.content, "search echo")

    client.force_login(w["buyer"])
    CartItem.objects.create(user=w["buyer"], product=product, offering=product.offerings.get(), quantity=1)
    for url in ["/cart/", f"/orders/{w['order'].pk}/", "/orders/", "/orders/checkout/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content, url)


def test_admin_pages_escape_every_user_text(client, hostile_world):
    w = hostile_world
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    urls = [
        "/admin/catalog/product/",
        f"/admin/catalog/product/{w['product'].pk}/change/",
        "/admin/shops/shop/",
        f"/admin/shops/shop/{w['shop'].pk}/change/",
        "/admin/orders/order/",
        f"/admin/orders/order/{w['order'].pk}/change/",
        "/admin/orders/review/",
        f"/admin/orders/review/{w['order'].review.pk}/change/",
        "/admin/accounts/user/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content, url, must_show=False)
        assert b"&lt;script&gt;" in response.content or b"&amp;lt;script" in response.content, url


def test_emails_escape_user_text_in_their_html_part(hostile_world):
    w = hostile_world
    order = w["order"]
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    mail.outbox.clear()
    assert events.notify_seller_of_order({"order_id": order.pk}) == DONE
    assert events.notify_buyer_of_shipment({"order_id": order.pk}) == DONE
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        ((html, mime),) = message.alternatives
        assert mime == "text/html"
        assert_escaped(html.encode(), f"email {message.subject}")
        assert "\n" not in message.subject and "\r" not in message.subject  # no header injection


def test_api_returns_user_text_as_json_data_not_html(client, hostile_world):
    response = client.get(f"/api/v1/products/{hostile_world['product'].pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["title"] == hostile_world["product"].title
