"""The seller sees each line's options, SKU and the buyer's personalisation: order page, packing slip, email."""

import pytest
from django.core import mail
from django.urls import reverse

from orders import events
from tests.orders.factories import OrderItemFactory

pytestmark = pytest.mark.django_db

ENGRAVING = "A & J <3\n12.06.2026"


@pytest.fixture
def ring_line(seller_a):
    # Filled by the checkout in production; set directly here.
    return OrderItemFactory(
        order=seller_a.order,
        product=seller_a.product,
        title_at_purchase="Stacking ring",
        options_at_purchase="Size: 7, Metal: Gold",
        sku_at_purchase="RING-7-G",
        personalization=ENGRAVING,
    )


def test_the_order_page_shows_each_lines_choices(seller_a, ring_line):
    page = seller_a.client.get(reverse("admin:orders_order_change", args=[seller_a.order.pk])).content.decode()
    assert "Size: 7, Metal: Gold" in page and "RING-7-G" in page
    assert "A &amp; J &lt;3" in page  # the buyer's text, escaped
    assert reverse("admin:orders_order_packing_slip", args=[seller_a.order.pk]) in page


def test_the_packing_slip_lists_choices_and_address(seller_a, ring_line):
    response = seller_a.client.get(reverse("admin:orders_order_packing_slip", args=[seller_a.order.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    row = page.split("Stacking ring")[1].split("</tr>")[0]
    assert "Size: 7, Metal: Gold" in row and "RING-7-G" in row
    assert "A &amp; J &lt;3<br>12.06.2026" in row
    assert seller_a.order.checkout.ship_name in page
    # The plain line of the fixture shows dashes, not empty cells.
    assert "Alice Ceramics teapot" in page


def test_another_sellers_packing_slip_is_not_found(seller_a, seller_b, ring_line):
    response = seller_b.client.get(reverse("admin:orders_order_packing_slip", args=[seller_a.order.pk]))
    assert response.status_code == 404
    assert "RING-7-G" not in response.content.decode()


def test_the_new_order_email_tells_the_seller_the_choices(seller_a, ring_line):
    mail.outbox.clear()
    assert events.notify_seller_of_order({"order_id": seller_a.order.pk}) == "done"
    (message,) = mail.outbox
    assert "Options: Size: 7, Metal: Gold" in message.body
    assert "SKU: RING-7-G" in message.body
    assert f"Personalisation: {ENGRAVING}" in message.body
    ((html, _),) = message.alternatives
    assert "Size: 7, Metal: Gold" in html and "SKU: RING-7-G" in html and "A &amp; J &lt;3" in html
