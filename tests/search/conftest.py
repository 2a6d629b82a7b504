from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product
from search.backends.postgres import refresh_vocabulary
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.shops.factories import ShopFactory


@pytest.fixture
def refresh_search_vocabulary(db):
    """Rebuild the spelling vocabulary from the listings created so far (a Celery task in production)."""
    return refresh_vocabulary


@pytest.fixture
def make_listing(db):
    """Create a listing whose search-relevant fields are all explicit; ``age_days`` back-dates it."""
    default_shop = {}

    def make(
        title,
        *,
        description="",
        tags=(),
        price="30.00",
        quantity=1,
        category=None,
        shop=None,
        is_vintage=False,
        age_days=None,
        **extra,
    ) -> Product:
        if shop is None:
            shop = default_shop.get("shop") or default_shop.setdefault(
                "shop", ShopFactory(rating=Decimal("4.5"), sales_count=10)
            )
        product = ProductFactory(
            title=title,
            description=description,
            tags=list(tags),
            price=Decimal(price),
            quantity=quantity,
            category=category or default_shop.setdefault("category", CategoryFactory()),
            shop=shop,
            is_vintage=is_vintage,
            **extra,
        )
        if age_days is not None:
            Product.objects.filter(pk=product.pk).update(created_at=timezone.now() - timedelta(days=age_days))
            product.refresh_from_db()
        return product

    return make
