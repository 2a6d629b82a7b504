"""The buyer's side of listing variations: the product page's selects and personalisation box, the
price-and-stock line of one combination, "from $X" on cards, and the caching of a listing's choices."""

import re
from decimal import Decimal

import pytest
from django.db import transaction

from catalog.models import Offering, Product
from tests.catalog.factories import ProductFactory, add_variations, make_ring, ring_offerings, set_offering_stock

pytestmark = pytest.mark.django_db


# --- variation test data (var-buyer) --------------------------------------------------------------


@pytest.fixture
def ring(catalog):
    """A ring in three sizes and two metals (gold dearer, 8 in gold sold out, 6 in silver switched off)."""
    product = make_ring(shop=catalog["shop_a"], category=catalog["mugs"])
    return product, {key: Offering.objects.get(pk=o.pk) for key, o in ring_offerings(product).items()}


def _option_ids(offering):
    return [offering.option1_id, offering.option2_id]


def _choice(client, product, offering_or_ids):
    ids = offering_or_ids if isinstance(offering_or_ids, list) else _option_ids(offering_or_ids)
    return client.get(f"/listing/choice/{product.pk}/", {"options": ids})


def test_product_page_shows_a_labelled_select_per_property_and_the_personalisation_box(client, ring):
    product, offerings = ring
    html = client.get(product.get_absolute_url()).content.decode()
    for name in ("Size", "Metal"):
        label = re.search(rf'<label for="(option-\d+)">{name}</label>', html)
        assert label, name
        assert f'<select id="{label.group(1)}" name="options" required' in html
    assert html.count('name="options"') == 2
    assert '<option value="">Choose size</option>' in html
    assert f'<option value="{offerings[("7", "Gold")].option2_id}">Gold</option>' in html
    assert f'<input type="hidden" name="product" value="{product.pk}">' in html
    assert 'maxlength="3" required' in html  # the seller's character limit, enforced by the browser too
    assert "Initials to engrave inside the band" in html and "Up to 3 characters." in html
    assert 'id="product-price">from $30.00<' in html  # the page's price before a choice: the lowest
    assert f'action="/cart/add/{product.pk}/"' in html and 'method="post"' in html


def test_a_listing_with_one_property_names_price_and_stock_in_its_options(client, catalog):
    product = ProductFactory(shop=catalog["shop_b"], category=catalog["art"], title="Wool sweater", slug="sweater")
    offerings = add_variations(product, {"Size": ["S", "M", "L"]}, price="80.00", quantity=2)
    set_offering_stock(offerings[("L",)], price="90.00")
    set_offering_stock(offerings[("S",)], quantity=0)
    html = client.get(product.get_absolute_url()).content.decode()
    assert ">S (sold out)<" in html and ">M ($80.00)<" in html and ">L ($90.00)<" in html
    assert "Personalization" not in html  # not asked: no box
    assert 'id="product-price">from $80.00<' in html


def test_plain_listing_keeps_its_one_price_and_no_selects(client, catalog):
    html = client.get(catalog["products"][3].get_absolute_url()).content.decode()
    assert 'name="options"' not in html and "<textarea" not in html
    assert 'id="product-price">$23.00<' in html


def test_choice_line_gives_the_price_and_stock_of_a_combination_and_the_page_price_out_of_band(client, ring):
    product, offerings = ring
    response = _choice(client, product, offerings[("7", "Gold")])
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div class="choice-status" id="choice-status" aria-live="polite">' in html
    assert "<strong>$45.00</strong>" in html and "In stock" in html
    assert '<p class="price" id="product-price" hx-swap-oob="true">$45.00</p>' in html
    assert "<html" not in html  # a fragment, not a page


@pytest.mark.parametrize(
    ("combination", "message"),
    [
        (("8", "Gold"), "That combination is sold out. Choose another."),
        (("6", "Silver"), "That combination is not available. Choose another."),
    ],
)
def test_choice_line_says_a_sold_out_or_switched_off_combination_is_not_available(client, ring, combination, message):
    product, offerings = ring
    html = _choice(client, product, offerings[combination]).content.decode()
    assert message in html and 'role="alert"' in html
    assert "<strong>" not in html  # no price for what cannot be bought
    assert 'id="product-price" hx-swap-oob="true">from $30.00<' in html


def test_choice_line_reads_half_a_choice_foreign_and_garbage_ids_as_unchosen(client, ring, catalog):
    product, offerings = ring
    other = ProductFactory(shop=catalog["shop_b"], category=catalog["art"], slug="other")
    foreign = add_variations(other, {"Size": ["6"]})[("6",)]
    for params in (
        {"options": [offerings[("7", "Gold")].option1_id]},
        {"options": [foreign.option1_id, offerings[("7", "Gold")].option2_id]},
        {"options": ["x", "", "99999999999999999999"]},
        {},
    ):
        response = client.get(f"/listing/choice/{product.pk}/", params)
        assert response.status_code == 200, params
        html = response.content.decode()
        assert "<strong>" not in html and 'role="alert"' not in html
        assert "In stock" in html
    assert client.get("/listing/choice/99999999/").status_code == 404


def test_a_link_to_a_combination_opens_the_page_with_it_chosen(client, ring):
    product, offerings = ring
    offering = offerings[("7", "Gold")]
    html = client.get(product.get_absolute_url(), {"options": _option_ids(offering)}).content.decode()
    assert f'<option value="{offering.option1_id}" selected>7</option>' in html
    assert f'<option value="{offering.option2_id}" selected>Gold</option>' in html
    assert "<strong>$45.00</strong>" in html


def test_cards_say_from_the_lowest_price_when_a_listings_offerings_differ(client, ring, catalog):
    product, _ = ring
    for url in ("/c/mugs/", "/shops/clay-studio/", "/search/?q=stacking+ring"):
        html = client.get(url).content.decode()
        card = html[html.index("Stacking ring") :]
        assert '<p class="card-price">from $30.00' in card[:600], url
    assert '<p class="card-price">$21.00' in client.get("/c/mugs/").content.decode()  # a plain listing: its price


def test_a_listing_whose_offerings_share_one_price_shows_no_from(catalog):
    product = ProductFactory(shop=catalog["shop_a"], category=catalog["mugs"], price=Decimal("12.00"))
    add_variations(product, {"Colour": ["Blue", "Green"]}, quantity=3)
    product.refresh_from_db()
    assert product.has_price_range is False and product.quantity == 6
    offering = Offering.objects.filter(product=product).first()
    set_offering_stock(offering, price="15.00")
    assert Product.objects.get(pk=product.pk).has_price_range is True
    set_offering_stock(offering, is_enabled=False)  # switched off: its price no longer counts
    assert Product.objects.get(pk=product.pk).has_price_range is False


def test_changing_an_offering_drops_the_cached_choices_and_page(client, ring, django_capture_on_commit_callbacks):
    product, offerings = ring
    url = product.get_absolute_url()
    assert "<strong>$45.00</strong>" in _choice(client, product, offerings[("7", "Gold")]).content.decode()
    client.get(url)  # page and choices cached
    offering = offerings[("7", "Gold")]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        offering.price = Decimal("52.00")
        offering.save()
    assert "<strong>$52.00</strong>" in _choice(client, product, offering).content.decode()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        offering.is_enabled = False
        offering.save()
    html = client.get(url, {"options": _option_ids(offering)}).content.decode()
    assert "That combination is not available. Choose another." in html


def test_product_page_with_variations_keeps_the_product_page_query_budget(client, ring, django_assert_max_num_queries):
    from tests.web.test_query_counts import _miss

    product, offerings = ring
    url = product.get_absolute_url()
    _miss()
    with django_assert_max_num_queries(14):  # the plain page's budget (tests/web/test_query_counts.py)
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(0):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(0):  # the choice line reads the cached listing and choices
        assert _choice(client, product, offerings[("7", "Gold")]).status_code == 200


# --- adding a choice to the cart (no JavaScript: the selects and a form post) -------------------------


def _post_choice(client, product, offering, *, text="", htmx=False, **extra):
    data = {"product": product.pk, "options": _option_ids(offering), "personalization": text, "quantity": 1, **extra}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/cart/add/{product.pk}/", data, headers=headers)


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "guest"])
def test_a_chosen_combination_with_initials_goes_to_the_cart_and_shows_there(client, ring, buyer, signed_in):
    from cart.models import CartItem

    product, offerings = ring
    if signed_in:
        client.force_login(buyer)
    response = _post_choice(client, product, offerings[("7", "Gold")], text="A.B")
    assert response.status_code == 302 and response["Location"] == "/cart/"
    _post_choice(client, product, offerings[("6", "Gold")], text="C.D")  # a second size: a line of its own
    if signed_in:
        lines = {(line.offering_id, line.personalization) for line in CartItem.objects.filter(user=buyer)}
        assert lines == {(offerings[("7", "Gold")].pk, "A.B"), (offerings[("6", "Gold")].pk, "C.D")}
    html = client.get("/cart/").content.decode()
    assert html.count('<li class="cart-line') == 2
    assert '<span class="line-options">Size: 7, Metal: Gold</span>' in html
    assert '<span class="line-personalization">Personalization: <q>A.B</q></span>' in html
    assert "Size: 6, Metal: Gold" in html and "<q>C.D</q>" in html
    assert 'Remove<span class="visually-hidden"> Stacking ring (Size: 7, Metal: Gold)</span>' in html


@pytest.mark.parametrize(
    ("combination", "reason"),
    [(("8", "Gold"), "sold out"), (("6", "Silver"), "switched off")],
)
def test_an_unavailable_combination_is_refused_beside_the_selects_keeping_the_choice_and_text(
    client, ring, buyer, combination, reason
):
    from cart.models import CartItem

    product, offerings = ring
    client.force_login(buyer)
    offering = offerings[combination]
    response = _post_choice(client, product, offering, text="A.B")
    html = response.content.decode()
    assert response.status_code == 400
    error = re.search(r'<p class="message message-error field-error" id="choice-error" role="alert">([^<]*)<', html)
    assert error and reason in error.group(1)
    assert '<p class="message message-error" role="alert">' not in html  # said once, beside the selects
    assert 'aria-invalid="true" aria-describedby="choice-error"' in html
    assert f'<option value="{offering.option1_id}" selected>' in html
    assert f'<option value="{offering.option2_id}" selected>' in html
    assert ">A.B</textarea>" in html  # the buyer's text is kept
    assert "<h1" in html and "Stacking ring" in html  # the whole page, not a fragment
    assert not CartItem.objects.filter(user=buyer).exists()


def test_a_combination_that_does_not_exist_is_refused_as_such(client, ring, catalog):
    product, offerings = ring
    foreign = add_variations(
        ProductFactory(shop=catalog["shop_b"], category=catalog["art"], slug="other"), {"Size": ["6"]}
    )[("6",)]
    data = {"options": [offerings[("7", "Gold")].option1_id, foreign.option1_id], "personalization": "A"}
    response = client.post(f"/cart/add/{product.pk}/", data)
    assert response.status_code == 400
    assert 'id="choice-error" role="alert">' in response.content.decode()
    response = client.post(f"/cart/add/{product.pk}/", {"options": ["x"], "personalization": "A"})
    assert response.status_code == 400 and 'id="choice-error"' in response.content.decode()
    assert client.get("/cart/").content.decode().count('<li class="cart-line') == 0


def test_missing_required_personalisation_is_refused_beside_the_text_box(client, ring, buyer):
    from cart.models import CartItem

    product, offerings = ring
    client.force_login(buyer)
    offering = offerings[("7", "Silver")]
    response = _post_choice(client, product, offering, text="   ")
    html = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error" id="personalization-error" role="alert">' in html
    assert 'personalization-limit personalization-error" aria-invalid="true"' in html
    assert f'<option value="{offering.option1_id}" selected>7</option>' in html  # the choice is kept
    too_long = _post_choice(client, product, offering, text="ABCD").content.decode()
    assert 'id="personalization-error" role="alert">' in too_long and ">ABCD</textarea>" in too_long
    assert not CartItem.objects.filter(user=buyer).exists()


def test_with_htmx_a_refusal_answers_the_buy_box_with_the_reason(client, ring):
    product, offerings = ring
    response = _post_choice(client, product, offerings[("8", "Gold")], text="A.B", htmx=True)
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps it in
    assert html.startswith('<div class="buy-box" id="buy-box">') and 'id="choice-error" role="alert"' in html
    ok = _post_choice(client, product, offerings[("7", "Gold")], text="A.B", htmx=True).content.decode()
    assert "Added to your cart." in ok and 'hx-swap-oob="true">1</span>' in ok


def test_cart_page_with_variation_lines_keeps_the_cart_page_query_budget(
    client, ring, catalog, buyer, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from tests.cart.factories import CartItemFactory
    from tests.web.test_query_counts import _miss

    product, offerings = ring
    client.force_login(buyer)
    with django_capture_on_commit_callbacks(execute=True):  # the cart is written through after each commit
        for plain in catalog["products"][:6]:  # both shops
            CartItemFactory(user=buyer, product=plain)
        for key in (("7", "Gold"), ("7", "Silver"), ("6", "Gold")):  # three lines of one listing
            assert _post_choice(client, product, offerings[key], text="AB").status_code == 302
    _miss()
    with django_assert_max_num_queries(9):  # the plain cart's budget (tests/web/test_query_counts.py)
        html = client.get("/cart/").content.decode()
    assert html.count('<li class="cart-line') == 9
    assert html.count("<q>AB</q>") == 3 and "Size: 6, Metal: Gold" in html
    with django_assert_max_num_queries(1):
        assert client.get("/cart/").content.decode().count('<li class="cart-line') == 9


def test_order_page_history_and_emails_show_the_options_and_the_text(client, buyer, catalog):
    from tests.orders.factories import OrderFactory, OrderItemFactory

    order = OrderFactory(buyer=buyer, shop=catalog["shop_a"])
    OrderItemFactory(
        order=order, title_at_purchase="Stacking ring", options_at_purchase="Size: 7, Metal: Gold", personalization="JM"
    )
    client.force_login(buyer)
    for url in (order.get_absolute_url(), "/orders/"):
        html = client.get(url).content.decode()
        assert '<span class="line-options">Size: 7, Metal: Gold</span>' in html, url
        assert '<span class="line-personalization">Personalization: <q>JM</q></span>' in html, url
    from etsy.emails import render_template

    text = render_template("emails/_order_lines.txt", {"order": order})
    assert "x Stacking ring (Size: 7, Metal: Gold):" in text and 'Personalization: "JM"' in text
    table = render_template("emails/_order_table.html", {"order": order})
    assert "Size: 7, Metal: Gold" in table and "Personalization: &ldquo;JM&rdquo;" in table


def test_a_hold_on_one_offering_is_said_on_its_line_and_leaves_the_other_sizes_buyable(client, ring, other_buyer):
    from django.utils import timezone

    from tests.cart.factories import CartItemFactory

    product, offerings = ring
    held = set_offering_stock(offerings[("7", "Gold")], quantity=1)
    CartItemFactory(
        user=other_buyer, product=product, offering=held, reserved_until=timezone.now() + timezone.timedelta(minutes=9)
    )
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Another buyer has this in their cart" not in html  # the listing's other offerings are not held
    assert 'name="options"' in html and "Add to cart" in html
    line = _choice(client, product, held).content.decode()
    assert "Another buyer has that one in their cart right now" in line and "<strong>" not in line
    assert "<strong>$30.00</strong>" in _choice(client, product, offerings[("7", "Silver")]).content.decode()


def test_the_choice_line_reads_live_stock_rather_than_the_cached_choices(client, ring):
    from catalog.stock import decrement_offerings, lock_products

    product, offerings = ring
    client.get(product.get_absolute_url())  # choices cached with 4 of size 7 in gold
    with transaction.atomic():
        lock_products(product_ids=[product.pk])
        assert decrement_offerings(quantities={offerings[("7", "Gold")].pk: 2}) == []
    from etsy import cache

    cache.delete(cache.inventory_key(product.pk))  # what a sale's invalidation does to the live stock (30 s entry)
    assert "Only 2 left" in _choice(client, product, offerings[("7", "Gold")]).content.decode()
