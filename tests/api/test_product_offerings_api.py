"""A listing in the API carries what a mobile buyer needs to choose: its properties, offerings and text ask."""

import pytest

from tests.catalog.factories import ProductFactory, make_ring, ring_offerings

pytestmark = pytest.mark.django_db


def test_a_listing_with_variations_lists_its_choices_with_live_stock(api_client, shop, category):
    ring = make_ring(shop=shop, category=category)
    body = api_client.get(f"/api/v1/products/{ring.pk}").json()
    assert [(v["name"], [o["value"] for o in v["options"]]) for v in body["variations"]] == [
        ("Size", ["6", "7", "8"]),
        ("Metal", ["Silver", "Gold"]),
    ]
    by_label = {o["options"]: o for o in body["offerings"]}
    gold_8, gold_7 = ring_offerings(ring)[("8", "Gold")], ring_offerings(ring)[("7", "Gold")]
    assert by_label["Size: 8, Metal: Gold"] == {
        "id": gold_8.pk,
        "option_ids": [gold_8.option1_id, gold_8.option2_id],
        "options": "Size: 8, Metal: Gold",
        "price": "45.00",
        "stock": 0,
        "is_available": False,
    }
    assert by_label["Size: 7, Metal: Gold"]["id"] == gold_7.pk and by_label["Size: 7, Metal: Gold"]["is_available"]
    assert body["personalization"] == {
        "mode": "required",
        "prompt": "Initials to engrave inside the band",
        "max_length": 3,
    }


def test_a_plain_listing_has_one_offering_without_options(api_client):
    mug = ProductFactory(quantity=3)
    body = api_client.get(f"/api/v1/products/{mug.pk}").json()
    assert body["variations"] == [] and body["personalization"]["mode"] == "none"
    [offering] = body["offerings"]
    assert offering["options"] == "" and offering["option_ids"] == [] and offering["stock"] == 3
