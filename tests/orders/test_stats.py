"""Sales figures: right numbers, only the given shop's, a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest

from catalog.models import Product
from orders import stats
from orders.models import Order
from tests.catalog.factories import FavoriteFactory, ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 31)


def _sold(shop, product, *, when, quantity=1, total="30.00", status=Order.Status.PAID):
    order = OrderFactory(shop=shop, status=status, subtotal=Decimal(total) - 4, shipping=Decimal("4.00"), total=total)
    Order.objects.filter(pk=order.pk).update(paid_at=when, created_at=when)
    OrderItemFactory(order=order, product=product, quantity=quantity)
    return order


@pytest.fixture
def figures_shop(shop, category):
    mug = ProductFactory(shop=shop, category=category, title="Mug", view_count=200)
    bowl = ProductFactory(shop=shop, category=category, title="Bowl", view_count=50)
    vase = ProductFactory(shop=shop, category=category, title="Vase", view_count=0)
    day = lambda d: dt.datetime.combine(d, dt.time(12), tzinfo=dt.UTC)  # noqa: E731
    _sold(shop, mug, when=day(TODAY), quantity=2)
    _sold(shop, mug, when=day(TODAY), total="14.00")
    _sold(shop, bowl, when=day(TODAY - dt.timedelta(days=29)))
    _sold(shop, bowl, when=day(TODAY - dt.timedelta(days=30)))  # outside the window, still counted in units
    _sold(shop, vase, when=day(TODAY), status=Order.Status.CANCELLED)  # not a sale
    for _ in range(3):
        FavoriteFactory(product=vase)
    FavoriteFactory(product=bowl)
    other = ShopFactory()
    other_product = ProductFactory(shop=other, view_count=10_000)
    _sold(other, other_product, when=day(TODAY), total="999.00")
    FavoriteFactory(product=other_product)
    return shop, mug, bowl, vase


def test_revenue_and_orders_per_day(figures_shop):
    shop, *_ = figures_shop
    s = stats.get_shop_stats(shop=shop, today=TODAY)
    assert len(s.days) == 30 and s.days[0].day == TODAY - dt.timedelta(days=29) and s.days[-1].day == TODAY
    assert s.days[-1].revenue == Decimal("44.00") and s.days[-1].orders == 2
    assert s.days[0].revenue == Decimal("30.00") and s.days[0].orders == 1
    assert s.revenue == Decimal("74.00") and s.orders == 3


def test_top_listings_and_conversion(figures_shop):
    shop, mug, bowl, vase = figures_shop
    s = stats.get_shop_stats(shop=shop, today=TODAY)
    assert [f.title for f in s.top_by_views] == ["Mug", "Bowl", "Vase"]
    assert [f.title for f in s.top_by_favorites][:2] == ["Vase", "Bowl"]
    assert [(f.title, f.units_sold) for f in s.top_by_sales][:2] == [("Mug", 3), ("Bowl", 2)]
    assert s.views == 250 and s.favorites == 4 and s.units_sold == 5
    assert s.conversion == Decimal("2.00")  # 5 units / 250 views
    assert s.top_by_views[0].conversion == Decimal("1.50")  # mug: 3 / 200
    assert s.top_by_views[2].conversion is None  # vase: no views yet


def test_stats_take_a_fixed_number_of_queries(figures_shop, django_assert_num_queries):
    shop, *_ = figures_shop
    with django_assert_num_queries(7):
        stats.get_shop_stats(shop=shop, today=TODAY)
    for i in range(20):
        ProductFactory(shop=shop, title=f"More {i}")
    with django_assert_num_queries(7):
        stats.get_shop_stats(shop=shop, today=TODAY)


def test_charts_are_svg_with_escaped_labels(shop, category):
    ProductFactory(shop=shop, category=category, title="<script>alert(1)</script>", view_count=5)
    charts = stats.render_shop_charts(stats.get_shop_stats(shop=shop, today=TODAY))
    assert charts["revenue"].startswith("<svg") and 'role="img"' in charts["revenue"]
    assert charts["revenue"].count("<rect") == 30
    assert "<script>" not in charts["views"] and "&lt;script&gt;" in charts["views"]


def test_empty_shop_has_zero_figures(shop):
    Product.objects.filter(shop=shop).delete()
    s = stats.get_shop_stats(shop=shop, today=TODAY)
    assert s.revenue == Decimal("0.00") and s.orders == 0 and s.conversion is None and s.top_by_views == []
