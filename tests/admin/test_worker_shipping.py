"""Through a real Celery worker: marking shipped in the admin emails the buyer the tracking number."""

import pytest
from django.urls import reverse

from orders.models import Order
from tests.admin.conftest import Seller
from tests.worker import celery_worker  # noqa: F401  (fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_mark_shipped_in_admin_reaches_the_buyer_through_the_worker(celery_worker, category):  # noqa: F811
    seller = Seller("worker.seller@example.com", "Worker Wares", category)
    order = seller.order
    response = seller.client.post(
        reverse("admin:orders_order_ship", args=[order.pk]), {"tracking_number": "LZ123456789GB"}
    )
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED

    def shipped_mail(messages):
        return [m for m in messages if order.buyer.email in m["To"]]

    messages = celery_worker.wait_for_mail(lambda msgs: bool(shipped_mail(msgs)), timeout=90)
    [message] = shipped_mail(messages)
    body = message.get_payload(0).get_payload(decode=True).decode() if message.is_multipart() else message.get_payload()
    assert "LZ123456789GB" in body
