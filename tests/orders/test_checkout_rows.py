"""Checkout's hand-written writes (orders.services.checkout_rows, the outbox's publish) write the rows the ORM
would: every column, defaults included, so a field added to a model later is not silently left to chance."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from etsy import outbox
from etsy.outbox.models import OutboxMessage
from orders.models import Checkout, Order, OrderItem
from orders.services.checkout import ShippingAddress
from orders.services.checkout_rows import insert_checkout
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

ADDRESS = ShippingAddress(name="Bea Buyer", line1="1 Market Street", city="Hudson", postcode="12534", region="NY")


def _columns(instance, *, leave_out=()) -> dict:
    """Every concrete field's value but the id, the timestamps and ``leave_out`` (what differs by construction)."""
    skipped = {"id", "created_at", "updated_at", *leave_out}
    return {
        f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields if f.name not in skipped
    }


def _order(buyer, shop, subtotal: str, shipping: str) -> dict:
    return {
        "buyer_id": buyer.pk,
        "shop_id": shop.pk,
        "subtotal": Decimal(subtotal),
        "shipping": Decimal(shipping),
        "total": Decimal(subtotal) + Decimal(shipping),
        "status": Order.Status.PENDING_PAYMENT,
        "estimated_delivery": date(2026, 12, 14),
        "transaction_fee": Decimal("1.20"),
        "processing_fee": Decimal("0.80"),
    }


def _item(shop, product, *, quantity: int, personalization: str = "") -> dict:
    return {
        "shop_id": shop.pk,
        "product_id": product.pk,
        "offering_id": product.offerings.get().pk,
        "title_at_purchase": product.title,
        "options_at_purchase": "",
        "sku_at_purchase": "SKU-1",
        "personalization": personalization,
        "price_at_purchase": product.price,
        "quantity": quantity,
    }


def test_insert_checkout_writes_the_rows_the_orm_writes_and_hangs_each_line_on_its_shops_order(buyer):
    first, second = sorted([ShopFactory(), ShopFactory()], key=lambda s: s.pk)
    mug, bowl, vase = ProductFactory(shop=first), ProductFactory(shop=first), ProductFactory(shop=second)
    orders = [_order(buyer, first, "20.00", "4.00"), _order(buyer, second, "35.50", "0.00")]
    items = [
        _item(first, mug, quantity=2, personalization="For Ada"),
        _item(first, bowl, quantity=1),
        _item(second, vase, quantity=3),
    ]
    before = timezone.now()
    with transaction.atomic():
        checkout, order_ids = insert_checkout(
            buyer_id=buyer.pk,
            address=ADDRESS,
            provider_key="key-rows",
            total=Decimal("59.50"),
            orders=orders,
            items=items,
        )
    written = Checkout.objects.get(pk=checkout.pk)
    assert model_to_dict(written) == model_to_dict(checkout)  # the instance returned is the row, every column
    assert before <= written.created_at == written.updated_at <= timezone.now()
    # The ORM's own row for the same values: defaults (currency, payment status, blank provider fields) alike.
    by_orm = Checkout.objects.create(
        buyer=buyer,
        total=Decimal("59.50"),
        payment_attempts=1,
        provider_idempotency_key="key-orm",
        **{f"ship_{name}": value for name, value in vars(ADDRESS).items()},
    )
    assert _columns(written, leave_out={"provider_idempotency_key"}) == _columns(
        by_orm, leave_out={"provider_idempotency_key"}
    )

    assert [Order.objects.get(pk=pk).shop_id for pk in order_ids] == [first.pk, second.pk]
    for pk, values in zip(order_ids, orders, strict=True):
        row = Order.objects.get(pk=pk)
        orm_row = Order.objects.create(checkout=by_orm, **values)
        assert row.checkout_id == checkout.pk
        assert _columns(row, leave_out={"checkout"}) == _columns(orm_row, leave_out={"checkout"})
    lines = OrderItem.objects.filter(order__checkout=checkout).order_by("pk")
    assert [(line.order_id, line.product_id, line.quantity) for line in lines] == [
        (order_ids[0], mug.pk, 2),
        (order_ids[0], bowl.pk, 1),
        (order_ids[1], vase.pk, 3),
    ]
    for line, values in zip(lines, items, strict=True):
        values = {k: v for k, v in values.items() if k != "shop_id"}
        orm_line = OrderItem.objects.create(order_id=line.order_id, **values)
        assert _columns(line) == _columns(orm_line)


def test_publish_writes_the_row_the_orm_writes_and_returns_it_as_written():
    with transaction.atomic():
        first, second = outbox.publish_each(
            messages=[("test.one", {"thing_id": 1}), ("test.two", {"id": str(uuid.UUID(int=5)), "n": [1, 2]})],
            relay=False,
        )
        handed = outbox.publish(topic="test.three", payload={"thing_id": 3}, relay=False, relayed_later=True)
    assert first.pk < second.pk < handed.pk
    for message in (first, second, handed):
        row = OutboxMessage.objects.get(pk=message.pk)
        assert model_to_dict(row) == model_to_dict(message)
        assert row.created_at == message.created_at
    assert OutboxMessage.objects.get(pk=second.pk).payload == {"id": str(uuid.UUID(int=5)), "n": [1, 2]}
    by_orm = OutboxMessage.objects.create(topic="test.one", payload={"thing_id": 1})
    assert _columns(OutboxMessage.objects.get(pk=first.pk)) == _columns(by_orm)
    # Relayed later by its caller: written as handed over (the sweep keeps away until the guard lapses).
    assert handed.attempts == 1 and handed.dispatched_at is not None and handed.next_attempt_at > handed.dispatched_at
    assert outbox.publish_many(topic="test.none", payloads=[], relay=False) == []
