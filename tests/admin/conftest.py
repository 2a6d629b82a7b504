"""Admin fixtures: two sellers who opened their shops through the real service, and their clients."""

from decimal import Decimal

import pytest
from django.test import Client

from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory, ReviewFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


class Seller:
    def __init__(self, email: str, shop_name: str, category):
        self.user = UserFactory(email=email)
        self.shop = open_shop(owner=self.user, name=shop_name)
        self.user.refresh_from_db()
        self.client = Client()
        assert self.client.login(email=email, password=PASSWORD)
        self.product = ProductFactory(shop=self.shop, category=category, title=f"{shop_name} teapot")
        self.order = OrderFactory(shop=self.shop, subtotal=Decimal("24.00"), total=Decimal("28.00"))
        self.item = OrderItemFactory(order=self.order, product=self.product, quantity=1)
        self.review = ReviewFactory(order=OrderFactory(shop=self.shop, status="delivered"))


@pytest.fixture
def category(db):
    return CategoryFactory(name="Kitchen", slug="kitchen")


@pytest.fixture
def seller_a(db, category):
    return Seller("alice@example.com", "Alice Ceramics", category)


@pytest.fixture
def seller_b(db, category):
    return Seller("bob@example.com", "Bob Woodworks", category)


@pytest.fixture
def superuser_client(db):
    from accounts.models import User

    User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    client = Client()
    assert client.login(email="root@example.com", password=PASSWORD)
    return client


@pytest.fixture(scope="module")
def chromium(browser):
    """The shared real-browser fixture of tests/conftest.py."""
    return browser
