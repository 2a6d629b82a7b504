"""Sellers' edits of one listing's offerings from several places at once: real concurrent transactions."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from catalog.models import Offering, Product, Variation
from catalog.services.offerings import VariationSpec, bulk_edit_offerings, set_variations
from tests.catalog.factories import ProductFactory
from tests.orders.conftest import in_thread_db

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROUNDS = 5
THREADS = 8


def _race(n, fn):
    barrier = threading.Barrier(n)

    @in_thread_db
    def run(i):
        barrier.wait()
        fn(i)
        return "ok"

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_property_edits_and_bulk_prices_leave_one_consistent_grid():
    """Without the listing lock two writers insert the same property position (IntegrityError) or leave
    offerings of options another writer removed; with it every round ends with exactly one offering per
    combination of the properties last written, and totals that are the offerings' sums."""
    for _ in range(ROUNDS):
        product = ProductFactory(price=Decimal("10.00"), quantity=3)

        def write(i):
            if i % 4 == 3:
                bulk_edit_offerings(shop=None, product_ids=[product.pk], quantity=i)
            else:
                sizes = [f"S{k}" for k in range(1 + i % 3)]
                extra = [VariationSpec("Colour", ["Red", "Blue"])] if i % 2 else []
                set_variations(product=product, variations=[VariationSpec("Size", sizes), *extra])

        assert _race(THREADS, write) == ["ok"] * THREADS
        options = [
            [o.value for o in v.options.all()] for v in Variation.objects.filter(product=product).order_by("position")
        ]
        expected = 1
        for values in options:
            expected *= len(values)
        offerings = list(Offering.objects.filter(product=product).select_related("option1", "option2"))
        assert len(offerings) == expected
        assert {(o.option1.value, o.option2.value if o.option2 else None) for o in offerings} == {
            (a, b) for a in options[0] for b in (options[1] if len(options) > 1 else [None])
        }
        product = Product.objects.get(pk=product.pk)
        assert product.quantity == sum(o.quantity for o in offerings if o.is_enabled)
