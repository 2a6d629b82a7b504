"""The cart's hand-written locking read (``catalog.stock.lock_offering_with_listing``) and the queryset that is the
home of "which offering is this choice" (``catalog.selectors.list_offerings_for_choice``) pick the same offering,
and the read loads what the queryset's ``select_related`` did."""

import threading

import pytest
from django.db import connection, transaction

from catalog import selectors
from catalog.exceptions import OfferingNotFound
from catalog.models import Offering, Product, Variation, VariationOption
from catalog.stock import lock_offering_with_listing
from tests.catalog.factories import ProductFactory, add_variations

pytestmark = pytest.mark.django_db


def _locked(**choice):
    with transaction.atomic():
        return lock_offering_with_listing(**choice)


def _queried(*, product_id, option_ids=()):
    return selectors.list_offerings_for_choice(product_id=product_id, option_ids=option_ids).first()


@pytest.fixture
def listings():
    ring = ProductFactory(title="Stacking ring", quantity=1)
    ring_offerings = add_variations(ring, {"Size": ["6", "7"], "Metal": ["Silver", "Gold"]}, quantity=3)
    scarf = ProductFactory(title="Scarf", quantity=1)
    scarf_offerings = add_variations(scarf, {"Colour": ["Red", "Blue"]}, quantity=2)
    mug = ProductFactory(title="Mug", quantity=5)
    # A listing that gained a property after its plain offering was made (a stale option-less offering).
    stale = ProductFactory(title="Stale", quantity=4)
    Variation.objects.create(product=stale, name="Size", position=0)
    return {"ring": (ring, ring_offerings), "scarf": (scarf, scarf_offerings), "mug": mug, "stale": stale}


def _choices(listings):
    ring, ring_offerings = listings["ring"]
    scarf, scarf_offerings = listings["scarf"]
    gold7 = ring_offerings[("7", "Gold")]
    silver6 = ring_offerings[("6", "Silver")]
    red = scarf_offerings[("Red",)]
    other_option = VariationOption.objects.exclude(variation__product=ring).first().pk
    yield ring.pk, [gold7.option1_id, gold7.option2_id]
    yield ring.pk, [gold7.option2_id, gold7.option1_id]  # either order
    yield ring.pk, [silver6.option1_id, gold7.option2_id]
    yield ring.pk, [gold7.option1_id]  # a property left unchosen
    yield ring.pk, []
    yield ring.pk, [gold7.option1_id, silver6.option1_id]  # two options of one property
    yield ring.pk, [gold7.option1_id, other_option]  # another listing's option
    yield scarf.pk, [red.option1_id]
    yield scarf.pk, []
    yield scarf.pk, [red.option1_id, gold7.option2_id]
    yield listings["mug"].pk, []
    yield listings["mug"].pk, [red.option1_id]
    yield listings["stale"].pk, []
    yield 0, []


def test_the_locking_read_picks_the_offering_the_queryset_picks(listings):
    for product_id, option_ids in _choices(listings):
        expected = _queried(product_id=product_id, option_ids=option_ids)
        found = _locked(product_id=product_id, option_ids=option_ids)
        assert (found and found.pk) == (expected and expected.pk), (product_id, option_ids)


@pytest.mark.parametrize("option_ids", [["x"], [True], [None], [1, 1], [1, 2, 3]])
def test_the_locking_read_refuses_malformed_options_as_the_queryset_does(listings, option_ids):
    with pytest.raises(OfferingNotFound):
        _locked(product_id=listings["mug"].pk, option_ids=option_ids)


def test_the_locking_read_by_offering_id_checks_the_listing_when_given(listings):
    ring, ring_offerings = listings["ring"]
    offering = ring_offerings[("6", "Gold")]
    assert _locked(offering_id=offering.pk).pk == offering.pk
    assert _locked(offering_id=offering.pk, product_id=ring.pk).pk == offering.pk
    assert _locked(offering_id=offering.pk, product_id=listings["mug"].pk) is None
    assert _locked(offering_id=0) is None


def test_the_locking_read_loads_the_listing_shop_and_options_in_one_query(listings, django_assert_num_queries):
    ring, ring_offerings = listings["ring"]
    offering = ring_offerings[("7", "Gold")]
    with transaction.atomic(), django_assert_num_queries(1):
        found = lock_offering_with_listing(offering_id=offering.pk)
        assert found.options_label == "Size: 7, Metal: Gold"
        assert found.product.shop.pk == ring.shop_id
    expected = Offering.objects.select_related("product__shop").get(pk=offering.pk)
    for model, mine, theirs in (
        (Offering, found, expected),
        (Product, found.product, expected.product),
        (type(expected.product.shop), found.product.shop, expected.product.shop),
    ):
        for field in model._meta.concrete_fields:
            assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
    assert not found._state.adding and found._state.db == "default"
    with transaction.atomic(), django_assert_num_queries(1):
        plain = lock_offering_with_listing(product_id=listings["mug"].pk)
        assert plain.option1 is None and plain.options_label == ""


@pytest.mark.django_db(transaction=True)
def test_the_locking_read_locks_the_listing_row_until_commit():
    mug = ProductFactory(title="Mug", quantity=5)
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                lock_offering_with_listing(product_id=mug.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
                with pytest.raises(Exception, match="lock timeout"):
                    with transaction.atomic():
                        Product.objects.select_for_update(nowait=False).get(pk=mug.pk)
    finally:
        release.set()
        thread.join(10)
