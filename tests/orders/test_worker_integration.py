import time

import pytest

from cart import services as cart_services
from etsy.outbox.models import OutboxMessage
from orders import payments
from orders.services.checkout import place_order
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory
from tests.worker import celery_worker  # noqa: F401  (fixture)


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_worker_emails_each_seller_after_checkout(celery_worker, buyer, address):  # noqa: F811
    shops = [ShopFactory(), ShopFactory()]
    for shop in shops:
        cart_services.add_item(user=buyer, product_id=ProductFactory(shop=shop, quantity=1).pk)

    result = place_order(buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key="w-1")

    owners = {shop.owner.email for shop in shops}
    everyone = owners | {buyer.email}
    mail = celery_worker.wait_for_mail(lambda msgs: {m["To"] for m in msgs} >= everyone, timeout=90)
    assert sorted(m["To"] for m in mail) == sorted(everyone)  # one email per order, one confirmation
    confirmation = [m for m in mail if m["To"] == buyer.email]
    assert confirmation[0]["Subject"] == "Your Makers' Market order: 2 shops, " + f"${result.checkout.total}"
    mail = [m for m in mail if m["To"] != buyer.email]
    assert all(m["Subject"].startswith("New order #") for m in mail)
    assert {o.pk for o in result.orders} == {int(m["Subject"].split("#")[1].split()[0]) for m in mail}
    # Each email is sent inside the transaction that marks its row processed, so a message can be on disk a
    # moment before that mark commits (and the sellers' transfers row runs after the emails): wait for the marks.
    deadline = time.monotonic() + 30
    while OutboxMessage.objects.filter(processed_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not OutboxMessage.objects.filter(processed_at__isnull=True).exists()
    assert "etsy.outbox.tasks.process_outbox_message" in celery_worker.log()
