import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, connections

from cart import services as cart_services
from etsy.breakers import reset_all
from etsy.exceptions import DomainError
from orders.services.checkout import ShippingAddress
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory


@pytest.fixture(autouse=True)
def _closed_breakers():
    reset_all()
    yield
    reset_all()


@pytest.fixture
def address():
    return ShippingAddress(name="Bea Buyer", line1="1 Market Street", city="Hudson", postcode="12534", country="US")


@pytest.fixture
def three_shop_cart(buyer):
    """A cart over three shops: two unique items and two of a stocked item. Returns the products."""
    shops = [
        ShopFactory(shipping_base=Decimal("4.00"), shipping_additional=Decimal("1.00")),
        ShopFactory(shipping_base=Decimal("3.50"), shipping_additional=Decimal("0.75")),
        ShopFactory(shipping_base=Decimal("5.00"), free_shipping_threshold=Decimal("50.00")),
    ]
    products = [
        ProductFactory(shop=shops[0], price=Decimal("19.99"), quantity=1),
        ProductFactory(shop=shops[0], price=Decimal("7.45"), quantity=5),
        ProductFactory(shop=shops[1], price=Decimal("33.10"), quantity=1),
        ProductFactory(shop=shops[2], price=Decimal("60.00"), quantity=3),
    ]
    cart_services.add_item(user=buyer, product_id=products[0].pk)
    cart_services.add_item(user=buyer, product_id=products[1].pk, quantity=2)
    cart_services.add_item(user=buyer, product_id=products[2].pk)
    cart_services.add_item(user=buyer, product_id=products[3].pk)
    return products


def make_buyers(n: int):
    return [UserFactory() for _ in range(n)]


def in_thread_db(fn):
    """Run ``fn`` and always close this thread's own database connection."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return wrapper


def race(n: int, fn) -> list:
    """Run ``fn(i)`` for i in 0..n-1 in n threads released together by a barrier, each with its own connection.

    Return each call's result, or the code of the ``DomainError`` it raised.
    """
    barrier = threading.Barrier(n)

    @in_thread_db
    def run(i):
        barrier.wait()
        try:
            return fn(i)
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def terminate_app_connection() -> None:
    """Kill this thread's PostgreSQL session from another session, as an operator or a failover would."""
    pid = connection.connection.info.backend_pid
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
