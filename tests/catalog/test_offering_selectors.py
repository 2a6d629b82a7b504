from decimal import Decimal

import pytest

from catalog import selectors
from catalog.exceptions import (
    OfferingNotFound,
    OfferingUnavailable,
    PersonalizationNotAccepted,
    PersonalizationRequired,
    PersonalizationTooLong,
)
from catalog.models import Offering, Personalization
from tests.catalog.factories import ProductFactory, add_variations, set_offering_stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def ring():
    product = ProductFactory(title="Stacking ring", price=Decimal("40.00"), quantity=1)
    offerings = add_variations(product, {"Size": ["6", "7"], "Metal": ["Silver", "Gold"]}, quantity=3)
    set_offering_stock(offerings[("7", "Gold")], price="55.50")
    return product, offerings


def _option_ids(offering):
    return [offering.option1_id, offering.option2_id]


def test_get_offering_for_choice_resolves_two_options_in_either_order(ring, django_assert_num_queries):
    product, offerings = ring
    wanted = offerings[("7", "Gold")]
    with django_assert_num_queries(1):
        found = selectors.get_offering_for_choice(product_id=product.pk, option_ids=_option_ids(wanted))
        assert found.options_label == "Size: 7, Metal: Gold"
    assert found.pk == wanted.pk and found.price == Decimal("55.50")
    reversed_ids = list(reversed(_option_ids(wanted)))
    assert selectors.get_offering_for_choice(product_id=product.pk, option_ids=reversed_ids).pk == wanted.pk


def test_get_offering_for_choice_resolves_a_plain_listing_to_its_implicit_offering():
    product = ProductFactory(quantity=2)
    found = selectors.get_offering_for_choice(product_id=product.pk)
    assert found == Offering.objects.get(product=product)
    assert found.options_label == ""


def test_get_offering_for_choice_refuses_a_missing_property(ring):
    product, offerings = ring
    with pytest.raises(OfferingNotFound):
        selectors.get_offering_for_choice(product_id=product.pk, option_ids=[offerings[("6", "Silver")].option1_id])
    with pytest.raises(OfferingNotFound):
        selectors.get_offering_for_choice(product_id=product.pk, option_ids=[])


def test_get_offering_for_choice_refuses_options_of_another_listing(ring):
    product, _ = ring
    other = ProductFactory()
    other_offerings = add_variations(other, {"Size": ["6", "7"], "Metal": ["Silver", "Gold"]})
    with pytest.raises(OfferingNotFound):
        selectors.get_offering_for_choice(
            product_id=product.pk, option_ids=_option_ids(other_offerings[("6", "Silver")])
        )


@pytest.mark.parametrize("option_ids", [["x"], [True], [None], [1, 1], [1, 2, 3]])
def test_get_offering_for_choice_refuses_malformed_options(ring, option_ids):
    product, _ = ring
    with pytest.raises(OfferingNotFound):
        selectors.get_offering_for_choice(product_id=product.pk, option_ids=option_ids)


def test_get_offering_for_choice_refuses_two_options_of_one_property(ring):
    product, offerings = ring
    ids = [offerings[("6", "Silver")].option1_id, offerings[("7", "Silver")].option1_id]
    with pytest.raises(OfferingNotFound):
        selectors.get_offering_for_choice(product_id=product.pk, option_ids=ids)


def test_get_offering_for_choice_refuses_switched_off_and_sold_out_offerings(ring):
    product, offerings = ring
    off = set_offering_stock(offerings[("6", "Silver")], is_enabled=False)
    with pytest.raises(OfferingUnavailable) as excinfo:
        selectors.get_offering_for_choice(product_id=product.pk, option_ids=_option_ids(off))
    assert excinfo.value.extra["reason"] == "switched_off"
    sold_out = set_offering_stock(offerings[("6", "Gold")], quantity=0)
    with pytest.raises(OfferingUnavailable) as excinfo:
        selectors.get_offering_for_choice(product_id=product.pk, option_ids=_option_ids(sold_out))
    assert excinfo.value.extra["reason"] == "sold_out"
    found = selectors.get_offering_for_choice(
        product_id=product.pk, option_ids=_option_ids(sold_out), include_sold_out=True
    )
    assert found.pk == sold_out.pk


def test_get_offering_checks_the_listing_when_given(ring):
    product, offerings = ring
    other = ProductFactory()
    wanted = offerings[("6", "Gold")]
    assert selectors.get_offering(offering_id=wanted.pk, product_id=product.pk).pk == wanted.pk
    with pytest.raises(OfferingNotFound):
        selectors.get_offering(offering_id=wanted.pk, product_id=other.pk)
    with pytest.raises(OfferingNotFound):
        selectors.get_offering(offering_id=10**12)
    with pytest.raises(OfferingNotFound):
        selectors.get_offering(offering_id="abc")


def test_listing_totals_follow_offerings(ring):
    product, offerings = ring
    product.refresh_from_db()
    assert product.quantity == 12
    assert product.price == Decimal("40.00")


@pytest.mark.parametrize(
    ("mode", "text", "expected"),
    [
        (Personalization.OPTIONAL, "  AB  ", "AB"),
        (Personalization.OPTIONAL, "   ", ""),
        (Personalization.REQUIRED, "J.S.", "J.S."),
        (Personalization.NONE, "  ", ""),
    ],
)
def test_clean_personalization_strips_and_accepts(mode, text, expected):
    product = ProductFactory.build(personalization=mode, personalization_max_length=4)
    assert product.clean_personalization(text) == expected


@pytest.mark.parametrize(
    ("mode", "text", "error"),
    [
        (Personalization.REQUIRED, "  ", PersonalizationRequired),
        (Personalization.OPTIONAL, "ABCDE", PersonalizationTooLong),
        (Personalization.NONE, "AB", PersonalizationNotAccepted),
    ],
)
def test_clean_personalization_refuses(mode, text, error):
    product = ProductFactory.build(personalization=mode, personalization_max_length=4)
    with pytest.raises(error):
        product.clean_personalization(text)
