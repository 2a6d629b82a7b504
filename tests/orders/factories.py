import uuid
from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import Checkout, Order, OrderItem, Review
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory


class CheckoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Checkout

    buyer = factory.SubFactory(UserFactory)
    total = Decimal("28.00")
    provider_idempotency_key = factory.LazyFunction(lambda: uuid.uuid4().hex)
    ship_name = "Ada Buyer"
    ship_line1 = "1 Market Street"
    ship_city = "Hudson"
    ship_postcode = "12534"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    checkout = factory.SubFactory(CheckoutFactory, buyer=factory.SelfAttribute("..buyer"))
    buyer = factory.SubFactory(UserFactory)
    shop = factory.SubFactory(ShopFactory)
    subtotal = Decimal("24.00")
    shipping = Decimal("4.00")
    total = Decimal("28.00")
    status = Order.Status.PAID
    # Coherent with the status, as the services write them (the review window opens at delivery).
    paid_at = factory.LazyAttribute(lambda o: None if o.status == Order.Status.PENDING_PAYMENT else timezone.now())
    shipped_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status in (Order.Status.SHIPPED, Order.Status.DELIVERED) else None
    )
    delivered_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == Order.Status.DELIVERED else None)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory, shop=factory.SelfAttribute("..order.shop"))
    # A plain listing's one offering (pass ``offering=`` for a listing with variations).
    offering = factory.LazyAttribute(lambda item: item.product and item.product.offerings.order_by("pk").first())
    title_at_purchase = factory.SelfAttribute("product.title")
    price_at_purchase = factory.SelfAttribute("product.price")
    quantity = 1


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    order = factory.SubFactory(OrderFactory, status=Order.Status.DELIVERED)
    reviewer = factory.SelfAttribute("order.buyer")
    shop = factory.SelfAttribute("order.shop")
    rating = 5
    comment = "Beautiful work, arrived quickly."
