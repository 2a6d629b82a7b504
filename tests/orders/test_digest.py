"""The seller daily digest: new orders, new favorites, low stock; once per shop and day."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings

from catalog.models import Favorite, Product
from orders import tasks
from orders.models import Order
from orders.services import digest as services
from shops.models import DigestLog
from tests.catalog.factories import FavoriteFactory, ProductFactory
from tests.orders.factories import OrderFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)
YESTERDAY_NOON = dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)


def _at(model, obj, when):
    model.objects.filter(pk=obj.pk).update(created_at=when)


@pytest.fixture
def busy_shop(shop, buyer):
    ProductFactory(shop=shop, title="Plenty", quantity=10)
    low = ProductFactory(shop=shop, title="Last walnut spoon", quantity=2)
    _at(Order, OrderFactory(shop=shop, buyer=buyer, total="28.00"), YESTERDAY_NOON)
    _at(Order, OrderFactory(shop=shop, buyer=buyer), YESTERDAY_NOON - dt.timedelta(days=2))  # too old
    _at(Order, OrderFactory(shop=shop, buyer=buyer, status=Order.Status.PENDING_PAYMENT), YESTERDAY_NOON)
    _at(Favorite, FavoriteFactory(product=low), YESTERDAY_NOON)
    _at(Favorite, Favorite.objects.create(user=buyer, kind=Favorite.Kind.SHOP, shop=shop), YESTERDAY_NOON)
    other = ShopFactory()
    _at(Order, OrderFactory(shop=other), YESTERDAY_NOON)
    ProductFactory(shop=other, title="Someone else's last item", quantity=1)
    return shop


def test_digest_reports_yesterdays_orders_favorites_and_low_stock(busy_shop):
    outcome = services.send_daily_digest(shop_id=busy_shop.pk, day=DAY)
    assert outcome.sent
    [message] = mail.outbox
    assert message.to == [busy_shop.owner.email]
    assert message.subject == "Sam's Workshop: 1 new order, 2 new favorites, 1 running low"
    assert "Last walnut spoon: 2 left" in message.body and "Plenty" not in message.body
    assert "Someone else" not in message.body
    assert "1 on your listings, 1 on your shop" in message.body
    log = DigestLog.objects.get(shop=busy_shop, day=DAY)
    assert (log.new_orders, log.new_favorites, log.low_stock) == (1, 2, 1) and log.sent_at


def test_digest_is_sent_once_per_day_even_if_beat_runs_again(busy_shop):
    tasks.send_daily_digests(DAY.isoformat())
    tasks.send_daily_digests(DAY.isoformat())  # a restarted beat fires the same day again
    assert len([m for m in mail.outbox if busy_shop.owner.email in m.to]) == 1
    assert DigestLog.objects.filter(shop=busy_shop, day=DAY).count() == 1
    tasks.send_daily_digests((DAY + dt.timedelta(days=1)).isoformat())
    assert DigestLog.objects.filter(shop=busy_shop).count() == 2


def test_a_quiet_shop_gets_no_email_but_is_recorded(shop):
    Product.objects.filter(shop=shop).delete()
    outcome = services.send_daily_digest(shop_id=shop.pk, day=DAY)
    assert not outcome.sent and mail.outbox == []
    assert DigestLog.objects.get(shop=shop, day=DAY).sent_at is not None


def test_a_failed_send_is_retried_next_run(busy_shop, monkeypatch):
    def boom(self, *a, **kw):
        raise ConnectionError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", boom)
    with pytest.raises(ConnectionError):
        services.send_daily_digest(shop_id=busy_shop.pk, day=DAY)
    assert DigestLog.objects.get(shop=busy_shop, day=DAY).sent_at is None
    monkeypatch.undo()
    assert services.send_daily_digest(shop_id=busy_shop.pk, day=DAY).sent
    assert len(mail.outbox) == 1


def test_beat_entry_names_the_task():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["seller-daily-digest"]["task"] == tasks.send_daily_digests.name


@pytest.mark.django_db(transaction=True)
@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_concurrent_digest_runs_send_one_email():
    shop = ShopFactory()
    ProductFactory(shop=shop, quantity=1)
    barrier = threading.Barrier(4)

    def run():
        barrier.wait()
        try:
            services.send_daily_digest(shop_id=shop.pk, day=DAY)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len([m for m in mail.outbox if shop.owner.email in m.to]) == 1
    assert DigestLog.objects.get(shop=shop, day=DAY).sent_at is not None
