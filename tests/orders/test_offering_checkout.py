"""Checkout per offering: prices to the cent, snapshots of options, SKU and personalisation, restock per offering."""

from decimal import Decimal

import pytest

from cart import services as cart_services
from cart.models import CartItem
from catalog.models import Offering, Personalization, Product
from orders import payments
from orders.exceptions import ItemUnavailable
from orders.models import Order, OrderItem
from orders.services import fulfilment
from orders.services.checkout import place_order
from tests.catalog.factories import ProductFactory, add_variations, set_offering_stock
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ring_shop():
    return ShopFactory(shipping_base=Decimal("4.00"), shipping_additional=Decimal("1.00"))


@pytest.fixture
def ring(ring_shop):
    product = ProductFactory(
        shop=ring_shop,
        title="Stacking ring",
        price=Decimal("40.00"),
        personalization=Personalization.OPTIONAL,
        personalization_max_length=12,
    )
    offerings = add_variations(product, {"Size": ["6", "7"], "Metal": ["Silver", "Gold"]}, quantity=4)
    set_offering_stock(offerings[("7", "Gold")], price="55.55")
    set_offering_stock(offerings[("6", "Silver")], price="39.99")
    Offering.objects.filter(pk=offerings[("7", "Gold")].pk).update(sku="RING-7-AU")
    return product, offerings


def _place(buyer, address, key="k"):
    return place_order(buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key=key)


def test_an_order_mixing_offerings_of_different_prices_is_charged_to_the_cent(buyer, address, ring, ring_shop):
    product, offerings = ring
    gold, silver = offerings[("7", "Gold")], offerings[("6", "Silver")]
    plain = ProductFactory(shop=ring_shop, price=Decimal("7.45"), quantity=5)
    cart_services.add_item(user=buyer, offering_id=gold.pk, quantity=2, personalization="  J.S.  ")
    cart_services.add_item(user=buyer, offering_id=gold.pk, personalization="A+B")  # same size, other text
    cart_services.add_item(user=buyer, offering_id=silver.pk)
    cart_services.add_item(user=buyer, product_id=plain.pk, quantity=3)

    result = _place(buyer, address)

    order = result.orders[0]
    # 3 × 55.55 + 39.99 + 3 × 7.45 = 166.65 + 39.99 + 22.35 = 228.99; 7 items ship for 4.00 + 6 × 1.00 = 10.00
    assert order.subtotal == Decimal("228.99")
    assert order.shipping == Decimal("10.00")
    assert order.total == Decimal("238.99") == result.checkout.total
    lines = {
        (i.offering_id, i.personalization): i for i in OrderItem.objects.filter(order=order).select_related("offering")
    }
    engraved = lines[(gold.pk, "J.S.")]
    assert (engraved.quantity, engraved.price_at_purchase) == (2, Decimal("55.55"))
    assert engraved.options_at_purchase == "Size: 7, Metal: Gold" and engraved.sku_at_purchase == "RING-7-AU"
    assert lines[(gold.pk, "A+B")].quantity == 1
    assert lines[(silver.pk, "")].price_at_purchase == Decimal("39.99")
    assert lines[(plain.offerings.get().pk, "")].options_at_purchase == ""
    gold.refresh_from_db()
    silver.refresh_from_db()
    product.refresh_from_db()
    assert (gold.quantity, silver.quantity) == (1, 3)
    assert product.quantity == 4 + 4 + 1 + 3  # the listing's total moved with its offerings
    assert Product.objects.get(pk=plain.pk).quantity == 2
    assert not CartItem.objects.filter(user=buyer).exists()


def test_cancelling_an_order_gives_each_offering_its_units_back(buyer, address, ring):
    product, offerings = ring
    gold = offerings[("7", "Gold")]
    cart_services.add_item(user=buyer, offering_id=gold.pk, quantity=3)
    order = _place(buyer, address).orders[0]
    assert Offering.objects.get(pk=gold.pk).quantity == 1

    fulfilment.cancel_order(order=Order.objects.get(pk=order.pk))
    fulfilment.cancel_order(order=Order.objects.get(pk=order.pk))  # once

    assert Offering.objects.get(pk=gold.pk).quantity == 4
    assert Offering.objects.get(pk=offerings[("6", "Gold")].pk).quantity == 4
    assert Product.objects.get(pk=product.pk).quantity == 16


def test_checkout_refuses_a_switched_off_offering_and_takes_only_its_line_out(buyer, address, ring):
    _, offerings = ring
    gold, silver = offerings[("7", "Gold")], offerings[("6", "Silver")]
    off = cart_services.add_item(user=buyer, offering_id=gold.pk)
    kept = cart_services.add_item(user=buyer, offering_id=silver.pk)
    set_offering_stock(gold, is_enabled=False)

    with pytest.raises(ItemUnavailable) as exc:
        _place(buyer, address)

    assert exc.value.extra["products"][0]["options"] == "Size: 7, Metal: Gold"
    assert exc.value.extra["removed"] is True
    assert list(CartItem.objects.filter(user=buyer).values_list("pk", flat=True)) == [kept.pk]
    assert not CartItem.objects.filter(pk=off.pk).exists()
    assert not Order.objects.exists()
    assert Offering.objects.get(pk=gold.pk).quantity == 4  # nothing taken


def test_two_lines_of_one_offering_cannot_together_take_more_than_its_stock(buyer, address, ring):
    _, offerings = ring
    gold = offerings[("7", "Gold")]
    cart_services.add_item(user=buyer, offering_id=gold.pk, quantity=3, personalization="A")
    with pytest.raises(Exception) as exc:
        cart_services.add_item(user=buyer, offering_id=gold.pk, quantity=2, personalization="B")
    assert exc.value.code == "insufficient_stock" and exc.value.extra["requested"] == 5
    assert CartItem.objects.filter(user=buyer).count() == 1
