"""The cart's HTML add form with offerings: the product page's selects (no JavaScript) post to it."""

from decimal import Decimal

import pytest

from cart import services
from cart.models import CartItem
from catalog.models import Personalization
from tests.catalog.factories import ProductFactory, add_variations

pytestmark = pytest.mark.django_db


@pytest.fixture
def ring(shop):
    product = ProductFactory(
        shop=shop,
        price=Decimal("40.00"),
        personalization=Personalization.OPTIONAL,
        personalization_max_length=4,
    )
    return product, add_variations(product, {"Size": ["6", "7"], "Metal": ["Silver", "Gold"]}, quantity=3)


def _post(client, product, **fields):
    return client.post(f"/cart/add/{product.pk}/", fields)


def test_a_signed_in_buyer_adds_the_chosen_options_with_personalisation(client, buyer, ring):
    product, offerings = ring
    wanted = offerings[("7", "Gold")]
    client.force_login(buyer)
    response = _post(
        client, product, options=[wanted.option2_id, wanted.option1_id], quantity="2", personalization=" AB "
    )
    assert response.status_code == 302 and response["Location"] == "/cart/"
    line = CartItem.objects.get(user=buyer)
    assert (line.offering_id, line.quantity, line.personalization) == (wanted.pk, 2, "AB")
    page = client.get("/cart/").content.decode()
    assert "Size: 7, Metal: Gold" in page and "Personalization: <q>AB</q>" in page
    assert f'action="/cart/remove/{line.pk}/"' in page


def test_a_guest_adds_by_offering_and_the_cart_page_names_the_line(client, ring):
    product, offerings = ring
    wanted = offerings[("6", "Silver")]
    response = _post(client, product, offering=wanted.pk, quantity="1")
    assert response.status_code == 302
    line = services.get_guest_lines(session=client.session)[0]
    assert (line.offering_id, line.quantity) == (wanted.pk, 1)
    page = client.get("/cart/").content.decode()
    assert "Size: 6, Metal: Silver" in page and f'action="/cart/update/{line.id}/"' in page
    client.post(f"/cart/remove/{line.id}/")
    assert services.get_guest_lines(session=client.session) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"options": ["{seven}"]}, "Choose an option for each"),
        ({}, "choose one"),
        ({"options": ["{seven}", "{gold}"], "personalization": "ABCDE"}, "at most 4"),
        ({"options": ["x"]}, "Choose from the options shown"),
        ({"offering": "{foreign}"}, "does not exist for this item"),
    ],
)
def test_a_refused_choice_shows_the_listing_again_with_the_reason_and_stores_nothing(
    client, buyer, shop, ring, fields, message
):
    product, offerings = ring
    foreign = ProductFactory(shop=shop, quantity=2).offerings.get()
    values = {
        "seven": offerings[("7", "Gold")].option1_id,
        "gold": offerings[("7", "Gold")].option2_id,
        "foreign": foreign.pk,
    }
    data = {
        key: [v.format(**values) for v in value] if isinstance(value, list) else value.format(**values)
        for key, value in fields.items()
    }
    client.force_login(buyer)
    response = _post(client, product, quantity="1", **data)
    assert response.status_code == 400  # the listing's page again, the buyer's choice kept (var-buyer)
    page = response.content.decode()
    assert message in page and '<h1 id="product-title">' in page
    assert not CartItem.objects.exists()


def test_a_one_of_a_kind_form_without_a_quantity_adds_one(client, buyer, shop):
    piece = ProductFactory(shop=shop, quantity=1)  # its buy box has no quantity field
    client.force_login(buyer)
    assert client.post(f"/cart/add/{piece.pk}/").status_code == 302
    assert CartItem.objects.get(user=buyer).quantity == 1
