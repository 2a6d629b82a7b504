"""The seller dashboard's charts: every label inside the picture, none cut mid-word (issue 19, item 14)."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import stats
from orders.models import Order
from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory

LONG_TITLE = "Hand-thrown speckled stoneware serving bowl with a wide rim"

# Each <text> of each chart: its box as Chromium lays it out, in the chart's own viewBox units.
TEXT_BOXES = """() => [...document.querySelectorAll('svg.sales-chart')].flatMap(svg => {
  const view = svg.viewBox.baseVal;
  return [...svg.querySelectorAll('text')].map(text => {
    const box = text.getBBox();
    return {text: text.textContent, x: box.x, y: box.y, right: box.x + box.width, bottom: box.y + box.height,
            width: view.width, height: view.height};
  });
})"""


def _sells_887_85_today_and_a_long_titled_listing(shop):
    category = CategoryFactory(name="Kitchen", slug="kitchen")
    bowl = ProductFactory(shop=shop, category=category, title=LONG_TITLE, view_count=420)
    ProductFactory(shop=shop, category=category, title="Mug", view_count=12)
    order = OrderFactory(
        shop=shop, status=Order.Status.PAID, subtotal=Decimal("881.85"), shipping=Decimal("6.00"), total="887.85"
    )
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now())
    OrderItemFactory(order=order, product=bowl, quantity=1)


@pytest.mark.django_db
def test_top_listing_labels_end_at_a_word_boundary(shop):
    _sells_887_85_today_and_a_long_titled_listing(shop)
    svg = stats.render_shop_charts(stats.get_shop_stats(shop=shop))["views"]
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    long_label = next(label for label in labels if label.startswith("Hand-thrown"))
    assert long_label.endswith("…")
    assert LONG_TITLE.startswith(long_label[:-1]) and LONG_TITLE[len(long_label) - 1] == " ", long_label
    assert "Mug" in labels


def test_shorten_label_cuts_between_words():
    assert stats.shorten_label("Mug") == "Mug"
    assert stats.shorten_label("one two three four", max_chars=12) == "one two…"
    assert stats.shorten_label("Supercalifragilistic", max_chars=8) == "Superca…"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_chart_labels_lie_inside_their_charts_in_chromium(live_server, page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    seller = UserFactory(email="maker@example.com")
    shop = open_shop(owner=seller, name="Kiln & Co")
    _sells_887_85_today_and_a_long_titled_listing(shop)

    page.goto(live_server.url + "/admin/")
    page.fill("#id_username", "maker@example.com")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    for path in ("/admin/", "/admin/orders/order/dashboard/"):
        for width in (1280, 480):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(live_server.url + path)
            boxes = page.evaluate(TEXT_BOXES)
            texts = [box["text"] for box in boxes]
            assert "$887.85" in texts and any(t.startswith("Hand-thrown") for t in texts), texts
            for box in boxes:
                assert box["x"] >= 0 and box["right"] <= box["width"], (path, width, box)
                assert box["y"] >= 0 and box["bottom"] <= box["height"], (path, width, box)
