from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from catalog.models import Product
from etsy import outbox
from etsy.outbox import services as outbox_services
from etsy.outbox.models import OutboxMessage
from etsy.outbox.tasks import process_outbox_message, relay_outbox
from orders import events
from orders.exceptions import InvalidOrderTransition
from orders.models import Order
from orders.services import fulfilment
from tests.catalog.factories import set_listing_stock
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def _placed(order):
    return outbox.publish(topic=events.TOPIC_ORDER_PLACED, payload={"order_id": order.pk}, relay=False)


def test_seller_email_is_sent_once_even_if_the_task_runs_twice():
    order = OrderFactory(status=Order.Status.PAID)
    OrderItemFactory(order=order)
    message = _placed(order)
    assert process_outbox_message.apply_async(args=[message.pk]).get() == "done"
    assert process_outbox_message.apply_async(args=[message.pk]).get() == "skipped"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [order.shop.owner.email] and f"#{order.pk}" in sent.subject
    assert order.items.get().title_at_purchase in sent.body
    assert sent.alternatives[0][1] == "text/html"


def test_pending_order_is_deferred_and_cancelled_order_never_emailed():
    pending, cancelled = OrderFactory(status=Order.Status.PENDING_PAYMENT), OrderFactory(status=Order.Status.CANCELLED)
    waiting, dropped = _placed(pending), _placed(cancelled)
    assert outbox_services.process(message_id=waiting.pk) == "defer"
    assert outbox_services.process(message_id=dropped.pk) == "done"
    waiting.refresh_from_db()
    dropped.refresh_from_db()
    assert waiting.processed_at is None and dropped.processed_at is not None
    assert mail.outbox == []


def test_failed_send_leaves_the_row_for_a_retry():
    message = _placed(OrderFactory(status=Order.Status.PAID))
    # Patched where every email goes out: a seller's email is sent with the others of its checkout.
    smtp_down = ConnectionError("smtp down")
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=smtp_down):
        assert outbox_services.process(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.processed_at is None and message.failures == 1 and "smtp down" in message.last_error
    assert outbox_services.process(message_id=message.pk) == "done" and len(mail.outbox) == 1


def test_sweep_relays_rows_the_broker_missed(django_capture_on_commit_callbacks):
    order = OrderFactory(status=Order.Status.PAID)
    with mock.patch.object(process_outbox_message, "apply_async", side_effect=OSError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            message = _placed(order)
            outbox.relay_on_commit([message.pk])
    message.refresh_from_db()
    assert message.dispatched_at is None and mail.outbox == []  # the outage lost nothing yet sent nothing

    assert relay_outbox.apply_async().get() == 0  # too young: left to its own after-commit relay
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert relay_outbox.apply_async().get() == 1
    message.refresh_from_db()
    assert message.processed_at is not None and message.attempts == 1 and len(mail.outbox) == 1
    assert relay_outbox.apply_async().get() == 0


def test_mark_shipped_emails_buyer_through_outbox_and_repeats_harmlessly(django_capture_on_commit_callbacks):
    order = OrderFactory(status=Order.Status.PAID)
    with django_capture_on_commit_callbacks(execute=True):
        shipped = fulfilment.mark_shipped(order=order, tracking_number=" 1Z999 ")
    assert shipped.status == "shipped" and shipped.tracking_number == "1Z999" and shipped.shipped_at
    assert [m.to for m in mail.outbox] == [[order.buyer.email]] and "1Z999" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.mark_shipped(order=order, tracking_number="1Z999")
    assert len(mail.outbox) == 1
    with pytest.raises(InvalidOrderTransition):
        fulfilment.mark_shipped(order=order, tracking_number="OTHER")
    assert fulfilment.mark_delivered(order=order, via="buyer").status == "delivered"
    with pytest.raises(InvalidOrderTransition):
        fulfilment.cancel_order(order=order)


def test_mark_shipped_requires_paid_order_and_tracking_number():
    with pytest.raises(InvalidOrderTransition):
        fulfilment.mark_shipped(order=OrderFactory(status=Order.Status.PENDING_PAYMENT), tracking_number="1Z")
    with pytest.raises(InvalidOrderTransition):
        fulfilment.mark_shipped(order=OrderFactory(status=Order.Status.PAID), tracking_number="  ")
    with pytest.raises(InvalidOrderTransition):
        fulfilment.mark_delivered(order=OrderFactory(status=Order.Status.PAID), via="buyer")


def test_cancel_order_restocks_exactly_once():
    order = OrderFactory(status=Order.Status.PAID)
    item = OrderItemFactory(order=order, quantity=2)
    set_listing_stock(Product.objects.get(pk=item.product_id), quantity=0)
    order.shop.__class__.objects.filter(pk=order.shop_id).update(sales_count=5)

    fulfilment.cancel_order(order=order)
    again = fulfilment.cancel_order(order=order)

    assert again.status == "cancelled" and again.cancelled_at
    assert Product.objects.get(pk=item.product_id).quantity == 2
    order.shop.refresh_from_db()
    assert order.shop.sales_count == 3


def test_cancelling_a_paid_order_refunds_it_once_after_commit(
    buyer, address, three_shop_cart, django_capture_on_commit_callbacks
):
    from decimal import Decimal

    from orders import payments
    from orders.services.checkout import place_order

    with django_capture_on_commit_callbacks(execute=True):
        result = place_order(buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key="r")
    order = result.orders[0]
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.cancel_order(order=order)
        fulfilment.cancel_order(order=order)

    refund_rows = OutboxMessage.objects.filter(topic=events.TOPIC_ORDER_REFUND)
    assert [r.payload for r in refund_rows] == [{"order_id": order.pk}]
    assert refund_rows.get().processed_at is not None
    assert outbox_services.process(message_id=refund_rows.get().pk) == "skipped"
    provider = payments.get_provider()
    refund = provider.refund(
        charge_idempotency_key=result.checkout.provider_idempotency_key,
        amount=order.total,
        idempotency_key=f"refund:order:{order.pk}",
    )
    assert refund.amount == order.total  # the same refund, not a second one
    with pytest.raises(payments.PaymentProviderError):  # more than what is left of the charge
        provider.refund(
            charge_idempotency_key=result.checkout.provider_idempotency_key,
            amount=result.checkout.total - order.total + Decimal("0.01"),
            idempotency_key="too-much",
        )
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert [Order.objects.get(pk=o.pk).status for o in result.orders[1:]] == ["paid", "paid"]
