"""Shared fixtures: real PostgreSQL (pytest-django) and real Redis for every test."""

import pytest
from django.core.cache import caches
from django.test.utils import override_settings

from etsy.celery import app as celery_app
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.shops.factories import ShopFactory


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Hash test passwords with a fast hasher: PBKDF2's cost is for attackers, not for the suite."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _clean_redis():
    """Start and end every test with none of this run's cache keys (only our prefix is touched)."""
    caches["strict"].delete_pattern("*")
    yield
    try:
        caches["strict"].delete_pattern("*")
    except Exception:  # a fault-injection test may have left Redis down
        pass


@pytest.fixture(autouse=True)
def _celery_eager():
    """Run tasks inline unless a test starts a real worker (see tests/worker.py)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def buyer(db):
    return UserFactory(email="buyer@example.com", display_name="Bea Buyer")


@pytest.fixture
def other_buyer(db):
    return UserFactory(email="other.buyer@example.com", display_name="Otto Other")


@pytest.fixture
def seller(db):
    return UserFactory(email="seller@example.com", display_name="Sam Seller", is_staff=True)


@pytest.fixture
def shop(seller):
    return ShopFactory(owner=seller, name="Sam's Workshop", slug="sams-workshop")


@pytest.fixture
def category(db):
    return CategoryFactory(name="Home & Living", slug="home-living")


@pytest.fixture
def product(shop, category):
    return ProductFactory(shop=shop, category=category)
