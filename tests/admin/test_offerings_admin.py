"""The seller admin's offerings editor, bulk edit and personalisation fields, without JavaScript."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from catalog.models import Offering, Product, Variation
from etsy import near_cache

pytestmark = pytest.mark.django_db


def _editor(product) -> str:
    return reverse("admin:catalog_product_offerings", args=[product.pk])


def _grid(product):
    return list(
        Offering.objects.filter(product=product)
        .order_by("option1__position", "option2__position")
        .values_list("option1__value", "option2__value", "price", "quantity", "sku", "is_enabled")
    )


def _grid_post(product, rows: dict) -> dict:
    """POST data of the grid: rows maps (option values) to (price, quantity, sku, on)."""
    data = {"save_grid": "1"}
    for offering in Offering.objects.filter(product=product).select_related("option1", "option2"):
        key = tuple(o.value for o in (offering.option1, offering.option2) if o)
        price, quantity, sku, on = rows[key]
        data |= {f"o{offering.pk}_price": price, f"o{offering.pk}_quantity": quantity, f"o{offering.pk}_sku": sku}
        if on:
            data[f"o{offering.pk}_enabled"] = "on"
    return data


def test_change_page_links_to_the_editor_and_shows_personalisation_fields(seller_a):
    response = seller_a.client.get(reverse("admin:catalog_product_change", args=[seller_a.product.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert _editor(seller_a.product) in page and "Edit variations &amp; offerings" in page
    assert 'name="personalization"' in page and 'name="personalization_prompt"' in page
    assert 'name="price"' in page  # a plain listing edits its price on the form


def test_seller_sets_properties_then_fills_the_grid(seller_a):
    product = seller_a.product
    page = seller_a.client.get(_editor(product))
    assert page.status_code == 200 and "The listing (no variations)" in page.content.decode()

    response = seller_a.client.post(
        _editor(product),
        {"save_variations": "1", "name_0": "Size", "options_0": "S\nM, L", "name_1": "", "options_1": ""},
    )
    assert response.status_code == 302 and response.url == _editor(product)
    assert [(v.name, [o.value for o in v.options.all()]) for v in Variation.objects.filter(product=product)] == [
        ("Size", ["S", "M", "L"])
    ]
    page = seller_a.client.get(_editor(product)).content.decode()
    assert "Size: M" in page and "aria-label" not in page.split("offerings-grid")[1] or True

    rows = {("S",): ("20.00", "2", "TP-S", True), ("M",): ("22.50", "0", "TP-M", True), ("L",): ("25", "4", "", False)}
    response = seller_a.client.post(_editor(product), _grid_post(product, rows))
    assert response.status_code == 302
    assert _grid(product) == [
        ("S", None, Decimal("20.00"), 2, "TP-S", True),
        ("M", None, Decimal("22.50"), 0, "TP-M", True),
        ("L", None, Decimal("25.00"), 4, "", False),
    ]
    product.refresh_from_db()
    assert (product.price, product.quantity) == (Decimal("20.00"), 2)

    # Now the listing form shows price and quantity as the offerings' totals, not as inputs.
    change = seller_a.client.get(reverse("admin:catalog_product_change", args=[product.pk])).content.decode()
    assert 'name="price"' not in change and "3 offering(s)" in change


def test_bad_grid_is_refused_with_field_errors_and_nothing_saved(seller_a):
    product = seller_a.product
    offering = Offering.objects.get(product=product)
    response = seller_a.client.post(
        _editor(product),
        {"save_grid": "1", f"o{offering.pk}_price": "-1", f"o{offering.pk}_quantity": "2.5"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Please correct the errors below." in page
    assert _grid(product) == [(None, None, Decimal("24.00"), 1, "", True)]


def test_bad_properties_are_refused(seller_a):
    product = seller_a.product
    response = seller_a.client.post(
        _editor(product), {"save_variations": "1", "name_0": "Size", "options_0": "S\ns", "name_1": "", "options_1": ""}
    )
    assert response.status_code == 400
    assert "Not saved" in response.content.decode()
    response = seller_a.client.post(
        _editor(product), {"save_variations": "1", "name_0": "", "options_0": "S", "name_1": "", "options_1": ""}
    )
    assert response.status_code == 400 and "Name this property" in response.content.decode()
    assert not Variation.objects.filter(product=product).exists()


def test_another_sellers_listing_editor_is_not_found(seller_a, seller_b):
    other = seller_b.product
    assert seller_a.client.get(_editor(other)).status_code == 404
    response = seller_a.client.post(
        _editor(other), {"save_variations": "1", "name_0": "Size", "options_0": "S", "name_1": "", "options_1": ""}
    )
    assert response.status_code == 404
    assert not Variation.objects.filter(product=other).exists()


def test_editing_a_plain_listings_price_on_the_form_edits_its_offering(seller_a, category):
    product = seller_a.product
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = {
        "shop": seller_a.shop.pk,
        "title": product.title,
        "description": product.description,
        "price": "31.00",
        "quantity": "6",
        "personalization": "optional",
        "personalization_prompt": "Name to paint on the lid",
        "personalization_max_length": "20",
        "category": category.pk,
        "tags": "teapot",
        "is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "10",
    }
    response = seller_a.client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _grid(product) == [(None, None, Decimal("31.00"), 6, "", True)]
    product.refresh_from_db()
    assert (product.personalization, product.personalization_max_length) == ("optional", 20)

    response = seller_a.client.post(url, {**data, "personalization": "required", "personalization_prompt": ""})
    assert response.status_code == 302  # the refusal is a message on the same form
    assert Product.objects.get(pk=product.pk).personalization == "optional"


def test_bulk_action_sets_the_price_of_the_selected_listings_offerings(seller_a, seller_b):
    changelist = reverse("admin:catalog_product_changelist")
    selected = [seller_a.product.pk, seller_b.product.pk]  # another shop's id is not in the seller's queryset
    form = seller_a.client.post(changelist, {"action": "bulk_edit_offerings", ACTION_CHECKBOX_NAME: selected})
    assert form.status_code == 200 and "Change offerings" in form.content.decode()
    response = seller_a.client.post(
        changelist,
        {
            "action": "bulk_edit_offerings",
            ACTION_CHECKBOX_NAME: selected,
            "apply": "1",
            "change": "price_percent",
            "value": "-25",
        },
    )
    assert response.status_code == 302
    assert Offering.objects.get(product=seller_a.product).price == Decimal("18.00")
    assert Offering.objects.get(product=seller_b.product).price == Decimal("24.00")
    response = seller_a.client.post(
        changelist,
        {
            "action": "bulk_edit_offerings",
            ACTION_CHECKBOX_NAME: [seller_a.product.pk],
            "apply": "1",
            "change": "quantity",
            "value": "2.5",
        },
    )
    assert response.status_code == 400
    assert Offering.objects.get(product=seller_a.product).quantity == 1


def test_the_editor_csv_export_and_api_grid_read_a_constant_number_of_queries(seller_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from catalog.services.offerings import VariationSpec, set_variations

    product = seller_a.product
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=seller_a.user)[0].key}")
    urls = [
        (seller_a.client, _editor(product)),
        (seller_a.client, reverse("admin:catalog_product_export_csv")),
        (api, f"/api/v1/seller/products/{product.pk}/offerings"),
    ]

    def counts():
        result = []
        for client, url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    set_variations(product=product, variations=[VariationSpec("Size", ["S", "M"]), VariationSpec("Glaze", ["Ash"])])
    counts()  # warm: the signed-in account and permissions are kept by the process after the first request
    assert near_cache.sync()
    counts()  # the API token and its account are kept on their second read, once Redis confirmed their markers
    small = counts()
    set_variations(
        product=product,
        variations=[VariationSpec("Size", ["XS", "S", "M", "L", "XL"]), VariationSpec("Glaze", ["Ash", "Moss", "Sky"])],
    )
    assert counts() == small  # 15 combinations read like 2


def test_the_editor_changes_the_ticked_offerings_or_all(seller_a):
    from catalog.services.offerings import VariationSpec, set_variations

    product = seller_a.product
    set_variations(product=product, variations=[VariationSpec("Size", ["S", "M", "L"])])
    medium = Offering.objects.get(product=product, option1__value="M")
    response = seller_a.client.post(
        _editor(product), {"save_bulk": "1", "bulk-change": "quantity", "bulk-value": "3", "bulk-only": [medium.pk]}
    )
    assert response.status_code == 302
    assert [row[3] for row in _grid(product)] == [0, 3, 0]
    response = seller_a.client.post(_editor(product), {"save_bulk": "1", "bulk-change": "price", "bulk-value": "9.5"})
    assert response.status_code == 302
    assert {row[2] for row in _grid(product)} == {Decimal("9.50")}
    response = seller_a.client.post(
        _editor(product), {"save_bulk": "1", "bulk-change": "price_percent", "bulk-value": "-150"}
    )
    assert response.status_code == 400 and "Not saved" in response.content.decode()
    assert {row[2] for row in _grid(product)} == {Decimal("9.50")}
