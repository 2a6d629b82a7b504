"""The seller's variations and offerings: properties, the grid, bulk edits, switching off, personalisation."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.models import Offering, Personalization, Product, Variation, VariationOption
from catalog.selectors_seller import list_offerings_grid
from catalog.services import listings
from catalog.services.offerings import (
    InvalidOfferings,
    OfferingSpec,
    VariationSpec,
    bulk_edit_offerings,
    clean_price,
    clean_quantity,
    replace_offerings,
    set_offerings,
    set_variations,
    update_offering,
)
from catalog.signals import products_changed
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import ProductFactory
from tests.orders.factories import OrderItemFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

RING_SIZES = VariationSpec(name="Size", options=["6", "7", "8"])
METALS = VariationSpec(name="Metal", options=["Silver", "Gold"])


@pytest.fixture
def ring(shop, category):
    return ProductFactory(shop=shop, category=category, title="Stacking ring", price=Decimal("40.00"), quantity=5)


@pytest.fixture
def sent(db):
    """Every products_changed sent during the test, as (product_ids, reason)."""
    calls = []

    def listener(sender, product_ids, reason="", **kwargs):
        calls.append((list(product_ids), reason))

    products_changed.connect(listener, dispatch_uid="test_offerings_listener")
    yield calls
    products_changed.disconnect(dispatch_uid="test_offerings_listener")


def _grid(product):
    return [
        (tuple(o.value for o in (off.option1, off.option2) if o), off.price, off.quantity, off.sku, off.is_enabled)
        for off in list_offerings_grid(product=product)
    ]


def _sizes_grid(prices=("40.00", "42.00", "45.00"), quantities=(2, 0, 3)):
    return [
        OfferingSpec(options=[size], price=Decimal(price), quantity=qty, sku=f"RING-{size}")
        for size, price, qty in zip(RING_SIZES.options, prices, quantities, strict=True)
    ]


# --- properties -------------------------------------------------------------------------------


def test_adding_a_property_replaces_the_implicit_offering_by_one_per_option(ring, django_capture_on_commit_callbacks):
    implicit = Offering.objects.get(product=ring)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        set_variations(product=ring, variations=[RING_SIZES])
    assert not Offering.objects.filter(pk=implicit.pk).exists()
    # New combinations start at the listing's price, none in stock: the seller fills in the grid next.
    assert _grid(ring) == [(("6",), Decimal("40.00"), 0, "", True), (("7",), Decimal("40.00"), 0, "", True),
                           (("8",), Decimal("40.00"), 0, "", True)]  # fmt: skip
    ring.refresh_from_db()
    assert ring.quantity == 0 and ring.price == Decimal("40.00")
    # products_changed once after commit (the page caches' own receivers may add their invalidations)
    assert [c.func.__name__ for c in callbacks if c.func.__name__ == "_send_products_changed"] == [
        "_send_products_changed"
    ]


def test_two_properties_make_every_combination(ring):
    set_variations(product=ring, variations=[RING_SIZES, METALS])
    assert [g[0] for g in _grid(ring)] == [
        ("6", "Silver"), ("6", "Gold"), ("7", "Silver"), ("7", "Gold"), ("8", "Silver"), ("8", "Gold"),
    ]  # fmt: skip
    assert list(Variation.objects.filter(product=ring).values_list("name", "position")) == [("Size", 0), ("Metal", 1)]


def test_keeping_an_option_keeps_its_offering_and_adding_one_adds_combinations(ring):
    set_variations(product=ring, variations=[RING_SIZES])
    set_offerings(product=ring, offerings=_sizes_grid())
    kept = Offering.objects.get(product=ring, option1__value="6")
    set_variations(product=ring, variations=[VariationSpec(name="Ring size", options=["6", "9", "7"])])
    assert Offering.objects.get(pk=kept.pk).quantity == 2  # renamed property, same option, same offering
    assert Variation.objects.get(product=ring).name == "Ring size"
    # 8 went; 9 is new at 0 in stock; the options' order is the seller's.
    assert [(g[0], g[2]) for g in _grid(ring)] == [(("6",), 2), (("9",), 0), (("7",), 0)]
    ring.refresh_from_db()
    assert ring.quantity == 2 and ring.price == Decimal("40.00")


def test_adding_a_second_property_carries_prices_from_the_first(ring):
    set_variations(product=ring, variations=[RING_SIZES])
    set_offerings(product=ring, offerings=_sizes_grid())
    set_variations(product=ring, variations=[RING_SIZES, METALS])
    prices = {g[0]: g[1] for g in _grid(ring)}
    assert prices[("7", "Gold")] == Decimal("42.00") and prices[("8", "Silver")] == Decimal("45.00")


def test_swapping_the_names_of_two_properties_does_not_collide(ring):
    set_variations(product=ring, variations=[VariationSpec("Size", ["S"]), VariationSpec("Colour", ["Red"])])
    set_variations(product=ring, variations=[VariationSpec("Colour", ["S"]), VariationSpec("Size", ["Red"])])
    assert list(Variation.objects.filter(product=ring).values_list("name", flat=True)) == ["Colour", "Size"]
    assert Offering.objects.filter(product=ring).count() == 1


def test_changing_an_options_case_keeps_it(ring):
    set_variations(product=ring, variations=[VariationSpec("Size", ["small"])])
    option = VariationOption.objects.get(variation__product=ring)
    set_variations(product=ring, variations=[VariationSpec("Size", ["Small"])])
    option.refresh_from_db()
    assert option.value == "Small"


def test_removing_every_property_brings_back_one_implicit_offering(ring):
    set_variations(product=ring, variations=[RING_SIZES, METALS])
    set_variations(product=ring, variations=[RING_SIZES])
    assert len(_grid(ring)) == 3
    set_variations(product=ring, variations=[])
    assert _grid(ring) == [((), Decimal("40.00"), 0, "", True)]
    assert not Variation.objects.filter(product=ring).exists()
    assert not VariationOption.objects.filter(variation__product=ring).exists()


def test_removed_combinations_leave_carts_and_orders_keep_their_frozen_text(ring, buyer):
    set_variations(product=ring, variations=[RING_SIZES])
    eight = Offering.objects.get(product=ring, option1__value="8")
    six = Offering.objects.get(product=ring, option1__value="6")
    line = CartItemFactory(user=buyer, product=ring, offering=eight)
    item = OrderItemFactory(
        product=ring, offering=eight, options_at_purchase="Size: 8", sku_at_purchase="RING-8", order__shop=ring.shop
    )
    set_variations(product=ring, variations=[VariationSpec("Size", ["6", "7"])])
    assert not type(line).objects.filter(pk=line.pk).exists()
    item.refresh_from_db()
    assert item.offering_id is None and item.options_at_purchase == "Size: 8" and item.sku_at_purchase == "RING-8"
    assert Offering.objects.filter(pk=six.pk).exists()


@pytest.mark.parametrize(
    ("variations", "field"),
    [
        ([RING_SIZES, METALS, VariationSpec("Stone", ["Opal"])], "variations"),
        ([VariationSpec("Size", ["6"]), VariationSpec(" size ", ["7"])], "variations.1.name"),
        ([VariationSpec("   ", ["6"])], "variations.0.name"),
        ([VariationSpec("Size", [])], "variations.0.options"),
        ([VariationSpec("Size", ["6", " "])], "variations.0.options.1"),
        ([VariationSpec("Size", ["Six", "six"])], "variations.0.options"),
        ([VariationSpec("S" * 41, ["6"])], "variations.0.name"),
        ([VariationSpec("Size", ["x" * 61])], "variations.0.options.0"),
        ([VariationSpec("Size", [str(n) for n in range(71)])], "variations.0.options"),
    ],
)
def test_set_variations_refuses_bad_properties_and_writes_nothing(ring, variations, field, sent):
    with pytest.raises(InvalidOfferings) as caught:
        set_variations(product=ring, variations=variations)
    assert field in caught.value.extra["fields"]
    assert caught.value.status_code == 400
    assert _grid(ring) == [((), Decimal("40.00"), 5, "", True)]
    assert sent == []


# --- the grid ---------------------------------------------------------------------------------


def test_set_offerings_writes_the_grid_and_the_listing_totals(ring, django_capture_on_commit_callbacks, sent):
    set_variations(product=ring, variations=[RING_SIZES])
    with django_capture_on_commit_callbacks(execute=True):
        product = set_offerings(product=ring, offerings=_sizes_grid())
    assert _grid(ring) == [
        (("6",), Decimal("40.00"), 2, "RING-6", True),
        (("7",), Decimal("42.00"), 0, "RING-7", True),
        (("8",), Decimal("45.00"), 3, "RING-8", True),
    ]
    # "from $40.00": the lowest price in stock; quantity the sum.
    assert (product.price, product.quantity) == (Decimal("40.00"), 5)
    assert sent[-1] == ([ring.pk], "stock")


def test_price_varying_by_one_property_is_the_grid_filled_so(ring):
    set_variations(product=ring, variations=[RING_SIZES, METALS])
    by_size = {"6": "40.00", "7": "40.00", "8": "48.00"}
    grid = [
        OfferingSpec(options=[size, metal], price=Decimal(by_size[size]), quantity=1)
        for size in RING_SIZES.options
        for metal in METALS.options
    ]
    set_offerings(product=ring, offerings=grid)
    assert {g[0]: g[1] for g in _grid(ring)}[("8", "Gold")] == Decimal("48.00")


def test_lowest_price_comes_from_offerings_in_stock_and_switched_on(ring):
    set_variations(product=ring, variations=[RING_SIZES])
    grid = _sizes_grid(prices=("10.00", "20.00", "30.00"), quantities=(0, 4, 1))
    grid[1] = OfferingSpec(options=["7"], price=Decimal("20.00"), quantity=4, is_enabled=False)
    product = set_offerings(product=ring, offerings=grid)
    assert (product.price, product.quantity) == (Decimal("30.00"), 1)


def test_option_values_match_whatever_their_case(ring):
    set_variations(product=ring, variations=[METALS])
    set_offerings(
        product=ring,
        offerings=[OfferingSpec(["silver"], Decimal("1"), 1), OfferingSpec([" GOLD "], Decimal("2"), 1)],
    )
    assert [g[1] for g in _grid(ring)] == [Decimal("1.00"), Decimal("2.00")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({0: OfferingSpec(["6"], Decimal("-1"), 1)}, "offerings.0.price"),
        ({0: OfferingSpec(["6"], Decimal("1.005"), 1)}, "offerings.0.price"),
        ({0: OfferingSpec(["6"], "abc", 1)}, "offerings.0.price"),
        ({0: OfferingSpec(["6"], Decimal("NaN"), 1)}, "offerings.0.price"),
        ({0: OfferingSpec(["6"], Decimal("1"), -1)}, "offerings.0.quantity"),
        ({0: OfferingSpec(["6"], Decimal("1"), "2.5")}, "offerings.0.quantity"),
        ({0: OfferingSpec(["6"], Decimal("1"), 1, sku="x" * 65)}, "offerings.0.sku"),
        ({0: OfferingSpec(["9"], Decimal("1"), 1)}, "offerings.0.options"),
        ({0: OfferingSpec(["7"], Decimal("1"), 1)}, "offerings.1.options"),
        ({2: None}, "offerings"),
    ],
)
def test_set_offerings_refuses_a_bad_grid_and_writes_nothing(ring, change, field):
    set_variations(product=ring, variations=[RING_SIZES])
    before = _grid(ring)
    grid = _sizes_grid()
    for index, spec in change.items():
        grid[index] = spec
    grid = [spec for spec in grid if spec is not None]
    with pytest.raises(InvalidOfferings) as caught:
        set_offerings(product=ring, offerings=grid)
    assert field in caught.value.extra["fields"]
    assert _grid(ring) == before


def test_replace_offerings_sets_properties_and_grid_in_one_go_or_not_at_all(ring):
    with pytest.raises(InvalidOfferings):
        replace_offerings(product=ring, variations=[RING_SIZES], offerings=_sizes_grid()[:2])
    assert _grid(ring) == [((), Decimal("40.00"), 5, "", True)]  # the properties were rolled back too
    product = replace_offerings(product=ring, variations=[RING_SIZES], offerings=_sizes_grid())
    assert product.quantity == 5 and len(_grid(ring)) == 3


def test_a_plain_listing_grid_is_its_one_offering(ring):
    product = set_offerings(product=ring, offerings=[OfferingSpec([], Decimal("12.50"), 7, sku="MUG")])
    assert (product.price, product.quantity) == (Decimal("12.50"), 7)
    assert _grid(ring) == [((), Decimal("12.50"), 7, "MUG", True)]


# --- one offering, bulk edits -----------------------------------------------------------------


def test_switching_an_offering_off_takes_it_out_of_the_totals(ring, sent, django_capture_on_commit_callbacks):
    set_variations(product=ring, variations=[RING_SIZES])
    set_offerings(product=ring, offerings=_sizes_grid())
    eight = Offering.objects.get(product=ring, option1__value="8")
    with django_capture_on_commit_callbacks(execute=True):
        updated = update_offering(offering=eight, is_enabled=False)
    assert updated.is_enabled is False
    ring.refresh_from_db()
    assert ring.quantity == 2
    assert sent[-1] == ([ring.pk], "stock")


def test_update_offering_changes_only_what_is_given(ring):
    offering = Offering.objects.get(product=ring)
    update_offering(offering=offering, price="9.99", sku=" A-1 ")
    offering.refresh_from_db()
    assert (offering.price, offering.quantity, offering.sku) == (Decimal("9.99"), 5, "A-1")
    update_offering(offering=offering, quantity=0)
    ring.refresh_from_db()
    assert (ring.price, ring.quantity) == (Decimal("9.99"), 0)
    with pytest.raises(InvalidOfferings):
        update_offering(offering=offering, price="-1")


def test_bulk_edit_sets_a_price_on_selected_listings_of_the_shop_only(ring, shop, category):
    other = ProductFactory(shop=shop, category=category, price=Decimal("10.00"))
    rival = ProductFactory(shop=ShopFactory(), category=category, price=Decimal("10.00"))
    set_variations(product=ring, variations=[RING_SIZES])
    count = bulk_edit_offerings(shop=shop, product_ids=[ring.pk, other.pk, rival.pk], price=Decimal("15.00"))
    assert count == 4
    assert set(Offering.objects.filter(product__in=[ring, other]).values_list("price", flat=True)) == {Decimal("15.00")}
    assert Offering.objects.get(product=rival).price == Decimal("10.00")
    other.refresh_from_db()
    assert other.price == Decimal("15.00")


def test_bulk_edit_sets_quantity_of_some_offerings(ring):
    set_variations(product=ring, variations=[RING_SIZES])
    seven = Offering.objects.get(product=ring, option1__value="7")
    assert bulk_edit_offerings(shop=None, product_ids=[ring.pk], offering_ids=[seven.pk], quantity=4) == 1
    assert [g[2] for g in _grid(ring)] == [0, 4, 0]
    ring.refresh_from_db()
    assert ring.quantity == 4


def test_bulk_edit_changes_prices_by_a_percentage_to_the_cent(ring):
    set_variations(product=ring, variations=[RING_SIZES])
    set_offerings(product=ring, offerings=_sizes_grid(prices=("10.00", "0.05", "19.99")))
    bulk_edit_offerings(shop=ring.shop, product_ids=[ring.pk], price_percent="10")
    assert [g[1] for g in _grid(ring)] == [Decimal("11.00"), Decimal("0.06"), Decimal("21.99")]
    bulk_edit_offerings(shop=ring.shop, product_ids=[ring.pk], price_percent=Decimal("-100"))
    assert [g[1] for g in _grid(ring)] == [Decimal("0.00")] * 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"price": Decimal("1"), "quantity": 1},
        {"price": Decimal("-1")},
        {"quantity": -3},
        {"price_percent": "-101"},
        {"price_percent": "lots"},
    ],
)
def test_bulk_edit_refuses_bad_input(ring, kwargs):
    with pytest.raises(InvalidOfferings):
        bulk_edit_offerings(shop=ring.shop, product_ids=[ring.pk], **kwargs)
    assert _grid(ring) == [((), Decimal("40.00"), 5, "", True)]


# --- personalisation --------------------------------------------------------------------------


def test_set_personalization_asks_for_text(ring):
    product = listings.set_personalization(
        product=ring, mode=Personalization.REQUIRED, prompt="  Initials   to engrave ", max_length=3
    )
    product = Product.objects.get(pk=product.pk)
    assert (product.personalization, product.personalization_prompt, product.personalization_max_length) == (
        "required",
        "Initials to engrave",
        3,
    )
    listings.set_personalization(product=ring, mode=Personalization.NONE)
    ring.refresh_from_db()
    assert ring.personalization == "none" and ring.personalization_max_length == 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mode": "sometimes"}, "personalization"),
        ({"mode": "required", "prompt": ""}, "personalization_prompt"),
        ({"mode": "optional", "prompt": "x" * 201}, "personalization_prompt"),
        ({"mode": "optional", "max_length": 0}, "personalization_max_length"),
        ({"mode": "optional", "max_length": 1025}, "personalization_max_length"),
        ({"mode": "optional", "max_length": "many"}, "personalization_max_length"),
    ],
)
def test_set_personalization_refuses_bad_settings(ring, kwargs, field):
    """The listing form (save_product) asks the same rule: one home, listings.clean_personalization."""
    with pytest.raises(listings.InvalidListing) as caught:
        listings.set_personalization(product=ring, **kwargs)
    assert field in caught.value.extra["fields"]
    ring.refresh_from_db()
    assert ring.personalization == "none"
    for name, value in {"personalization": "optional", **kwargs}.items():
        setattr(
            ring,
            {
                "mode": "personalization",
                "prompt": "personalization_prompt",
                "max_length": "personalization_max_length",
            }.get(name, name),
            value,
        )
    with pytest.raises(listings.InvalidListing):
        listings.save_product(product=ring)
    assert Product.objects.get(pk=ring.pk).personalization == "none"


# --- the listing form's price and quantity ----------------------------------------------------


def test_editing_a_plain_listings_price_and_quantity_edits_its_implicit_offering(ring):
    listings.update_product(product=ring, price=Decimal("35.00"), quantity=2)
    assert _grid(ring) == [((), Decimal("35.00"), 2, "", True)]
    ring.title = "Stacking ring, brushed"
    ring.quantity = 9
    listings.save_product(product=ring)
    assert _grid(ring)[0][2] == 9


def test_a_new_listing_gets_its_implicit_offering(shop, category):
    product = listings.create_product(shop=shop, title="Bowl", price=Decimal("18.00"), category=category, quantity=4)
    assert _grid(product) == [((), Decimal("18.00"), 4, "", True)]


def test_a_listing_with_variations_refuses_a_listing_level_price(ring):
    set_variations(product=ring, variations=[RING_SIZES])
    with pytest.raises(listings.InvalidListing):
        listings.update_product(product=ring, price=Decimal("1.00"))
    # The form's values give way to the offerings' totals.
    ring.quantity = 99
    listings.save_product(product=ring)
    assert ring.quantity == 0 and Product.objects.get(pk=ring.pk).quantity == 0


def test_mark_sold_out_empties_every_offering(ring):
    set_variations(product=ring, variations=[RING_SIZES])
    set_offerings(product=ring, offerings=_sizes_grid())
    listings.mark_sold_out(shop=ring.shop, product_ids=[ring.pk])
    assert [g[2] for g in _grid(ring)] == [0, 0, 0]
    ring.refresh_from_db()
    assert ring.quantity == 0


# --- cleaners and the database's own guard ----------------------------------------------------


def test_cleaners_accept_money_and_whole_numbers_only():
    assert clean_price("12.5") == Decimal("12.50") and clean_price(Decimal("0")) == Decimal("0.00")
    assert clean_quantity("7") == 7 and clean_quantity(0) == 0
    for bad in (True, 1.5, "1e3", "", None, " ", "٣"):
        with pytest.raises(InvalidOfferings):
            clean_quantity(bad)
    for bad in ("1e400", "Infinity", "", "12,50"):
        with pytest.raises(InvalidOfferings):
            clean_price(bad)


def test_the_database_refuses_a_second_offering_of_one_combination(ring):
    with pytest.raises(IntegrityError), transaction.atomic():
        Offering.objects.create(product=ring, price=Decimal("1"), quantity=1)
