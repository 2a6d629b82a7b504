"""Checkout's locked read of the cart is one hand-written, prepared statement: it reads what the ORM read did."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from cart import services as cart_services
from cart.models import CartItem
from catalog.models import Personalization
from orders.services.checkout_placing import _lock_cart_lines
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory, add_variations

pytestmark = pytest.mark.django_db


def _orm_read(*, buyer_id: int, now) -> list[CartItem]:
    """The read as the ORM made it before it was written by hand."""
    holds = CartItem.objects.filter(offering_id=OuterRef("offering_id"), reserved_until__gt=now).exclude(
        user_id=buyer_id
    )
    return list(
        CartItem.objects.filter(user_id=buyer_id)
        .select_related("offering__option1__variation", "offering__option2__variation")
        .annotate(held_until=Subquery(holds.order_by("-reserved_until").values("reserved_until")[:1]))
        .order_by("product_id", "offering_id", "id")
    )


def _shape(lines: list[CartItem]) -> list[tuple]:
    return [
        (
            line.pk,
            line.product_id,
            line.offering_id,
            line.personalization,
            line.quantity,
            line.reserved_until,
            line.held_until,
            line.offering.price,
            line.offering.quantity,
            line.offering.is_enabled,
            line.offering.sku,
            line.offering.options_label,
        )
        for line in lines
    ]


def test_the_locked_cart_read_gives_what_the_orm_read_gave(buyer):
    ring = ProductFactory(personalization=Personalization.OPTIONAL, personalization_max_length=12)
    offerings = add_variations(ring, {"Size": ["6", "7"], "Metal": ["Silver", "Gold"]}, quantity=4)
    plain, unique = ProductFactory(quantity=9), ProductFactory(quantity=1)
    cart_services.add_item(user=buyer, offering_id=offerings[("7", "Gold")].pk, quantity=2, personalization="J.S.")
    cart_services.add_item(user=buyer, offering_id=offerings[("7", "Gold")].pk)
    cart_services.add_item(user=buyer, offering_id=offerings[("6", "Silver")].pk)
    cart_services.add_item(user=buyer, product_id=plain.pk, quantity=3)
    cart_services.add_item(user=buyer, product_id=unique.pk)
    now = timezone.now()
    # Another buyer's live hold on the unique listing (the buyer's own ran out), and an expired one on the plain.
    CartItem.objects.filter(user=buyer, product=unique).update(reserved_until=now - timedelta(minutes=1))
    other, late = UserFactory(), UserFactory()
    CartItem.objects.create(
        user=other, product=unique, offering=unique.offerings.get(), reserved_until=now + timedelta(minutes=5)
    )
    CartItem.objects.create(
        user=late, product=plain, offering=plain.offerings.get(), reserved_until=now - timedelta(minutes=5)
    )

    with transaction.atomic():
        by_hand = _lock_cart_lines(buyer_id=buyer.pk, now=now)
    expected = _shape(_orm_read(buyer_id=buyer.pk, now=now))
    assert _shape(by_hand) == expected
    assert [line[6] is not None for line in expected].count(True) == 1  # only the other buyer's live hold
    assert {line[11] for line in expected} >= {"Size: 7, Metal: Gold", "Size: 6, Metal: Silver", ""}


def test_the_locked_cart_read_is_prepared(buyer):
    cart_services.add_item(user=buyer, product_id=ProductFactory(quantity=3).pk)
    with transaction.atomic():
        assert len(_lock_cart_lines(buyer_id=buyer.pk, now=timezone.now())) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        assert any("FOR NO KEY UPDATE OF o" in statement for (statement,) in cursor.fetchall())
