"""Elasticsearch parity for variation options (issue 22), without a cluster: the document's option fields and
offering prices, the filter clauses and aggregations of the body, and the parsing of their buckets."""

import re
from decimal import Decimal

import pytest

from search.backends import elasticsearch as es_backend
from search.documents import ProductDocument
from search.options import PAIR_SEPARATOR, pair_key
from search.types import SearchParams
from tests.catalog.factories import ProductFactory
from tests.search.test_variations import add_variations, set_offering


def _filters(body):
    return body["query"]["function_score"]["query"]["bool"]["filter"]


def test_mapping_has_option_and_offering_price_fields():
    properties = ProductDocument._index.to_dict()["mappings"]["properties"]

    assert {name: properties[name]["type"] for name in ("colour", "size", "material", "option_keys")} == {
        "colour": "keyword",
        "size": "keyword",
        "material": "keyword",
        "option_keys": "keyword",
    }
    assert properties["offer_prices"]["type"] == "float"
    assert properties["price_max"]["type"] == "float"
    assert properties["option_words"]["type"] == "text"
    assert properties["option_words"]["analyzer"] == "etsy_index_analyzer"
    assert "option_words" in es_backend.TEXT_FIELDS


@pytest.mark.django_db
def test_document_carries_the_options_and_prices_of_offerings_in_stock():
    ring = ProductFactory(title="Stacking ring", price=Decimal("20.00"), quantity=1)
    offerings = add_variations(
        ring, {"Ring size": ["7", "8"], "Metal": ["Silver", "Rose Gold"]}, prices={("8", "Rose Gold"): "55.00"}
    )
    set_offering(offerings[("7", "Rose Gold")], quantity=0)
    set_offering(offerings[("8", "Silver")], is_enabled=False)
    document = ProductDocument()
    listing = document.get_queryset().get(pk=ring.pk)

    doc = document.prepare(listing)

    assert doc["size"] == ["7", "8"]
    assert doc["material"] == ["rose gold", "silver"]
    assert doc["colour"] == []
    assert doc["option_keys"] == sorted(
        ["size:7", "size:8", "material:silver", "material:rose gold"]
        + [pair_key("size:7", "material:silver"), pair_key("size:8", "material:rose gold")]
    )
    assert doc["offer_prices"] == [20.0, 55.0]
    assert doc["price"] == 20.0 and doc["price_max"] == 55.0
    assert doc["option_words"] == "Ring size 7 8 Metal Silver Rose Gold"


@pytest.mark.django_db
def test_plain_listing_document_has_its_one_price_and_no_options():
    mug = ProductFactory(price=Decimal("24.00"))

    doc = ProductDocument().prepare(ProductDocument().get_queryset().get(pk=mug.pk))

    assert doc["offer_prices"] == [24.0] and doc["price_max"] == 24.0
    assert doc["option_keys"] == [] and doc["option_words"] == ""


@pytest.mark.django_db
def test_preparing_listings_with_variations_does_not_query_per_listing(django_assert_max_num_queries):
    products = [ProductFactory() for _ in range(4)]
    for product in products:
        add_variations(product, {"Size": ["S", "M"], "Colour": ["Green"]})
    document = ProductDocument()
    listings = list(document.get_queryset().filter(pk__in=[p.pk for p in products]))

    with django_assert_max_num_queries(1):  # the category names, once
        docs = [document.prepare(p) for p in listings]
    assert [d["size"] for d in docs] == [["m", "s"]] * 4


def test_option_filters_are_one_key_or_the_pair_of_one_offering():
    one = es_backend.build_search_body(params=SearchParams(q="ring", size="8"), category=None)
    two = es_backend.build_search_body(params=SearchParams(q="ring", size="8", material="silver"), category=None)
    three = es_backend.build_search_body(params=SearchParams(size="8", material="gold", colour="red"), category=None)

    assert {"term": {"option_keys": "size:8"}} in _filters(one)
    assert {"term": {"option_keys": f"material:silver{PAIR_SEPARATOR}size:8"}} in _filters(two)
    assert {"match_none": {}} in _filters(three)


@pytest.mark.parametrize(
    ("params", "bounds"),
    [
        ({"price_range": "25-50"}, {"gte": 25.0, "lt": 50.0}),
        ({"price_min": Decimal("40"), "price_max": Decimal("60")}, {"gte": 40.0, "lte": 60.0}),
        ({"price_min": Decimal("30"), "price_range": "25-50"}, {"gte": 30.0, "lt": 50.0}),
        ({"price_max": Decimal("25"), "price_range": "25-50"}, {"gte": 25.0, "lte": 25.0}),
    ],
)
def test_price_filter_is_one_window_on_the_offering_prices(params, bounds):
    body = es_backend.build_search_body(params=SearchParams(q="ring", **params), category=None)

    assert [f for f in _filters(body) if "range" in f and "quantity" not in f["range"]] == [
        {"range": {"offer_prices": bounds}}
    ]
    assert body["aggs"]["price_ranges"]["range"]["field"] == "offer_prices"


def test_price_sort_uses_the_from_price():
    body = es_backend.build_search_body(params=SearchParams(q="ring", sort="price_asc"), category=None)

    assert body["sort"] == [{"price": "asc"}, {"_id": "asc"}]


def test_option_aggregations_count_single_keys_per_facet():
    aggs = es_backend.build_search_body(params=SearchParams(q="sweater"), category=None)["aggs"]

    assert aggs["option_colour"] == {"terms": {"field": "option_keys", "include": "colour:[^\\\x1f]*", "size": 12}}
    assert set(aggs) == {"categories", "price_ranges", "option_colour", "option_size", "option_material"}
    include = re.compile(aggs["option_size"]["terms"]["include"].replace("\\", ""))
    assert include.fullmatch("size:xl") and not include.fullmatch(pair_key("colour:red", "size:xl"))


def test_with_one_option_chosen_the_aggregations_count_its_pairs():
    aggs = es_backend.build_search_body(params=SearchParams(size="8.5"), category=None)["aggs"]

    assert "option_size" not in aggs
    pattern = aggs["option_colour"]["terms"]["include"]
    assert "size\\:8\\.5" in pattern  # the chosen key is a literal
    # Lucene's syntax, read as Python's (an escaped character is itself): pairs of a colour with size 8.5 only.
    include = re.compile(pattern.replace("\\\x1f", "\x1f"))
    assert include.fullmatch(pair_key("colour:green", "size:8.5"))
    assert not include.fullmatch(pair_key("colour:green", "size:815"))
    assert not include.fullmatch("colour:green")
    both = es_backend.build_search_body(params=SearchParams(size="8", colour="green"), category=None)["aggs"]
    assert set(both) == {"categories", "price_ranges"}


@pytest.mark.django_db
def test_option_buckets_are_parsed_into_facets():
    response = {
        "hits": {"total": {"value": 3, "relation": "eq"}, "hits": []},
        "aggregations": {
            "option_colour": {
                "buckets": [
                    {"key": pair_key("colour:green", "size:8"), "doc_count": 2},
                    {"key": pair_key("colour:navy", "size:8"), "doc_count": 1},
                ]
            },
            "price_ranges": {"buckets": {"under-25": {"doc_count": 1}, "50-100": {"doc_count": 3}}},
        },
    }

    result = es_backend.parse_response(response, chosen={"size": "8"})

    assert [(f.key, [(v.value, v.label, v.count) for v in f.values]) for f in result.options] == [
        ("colour", [("green", "Green", 2), ("navy", "Navy", 1)]),
        ("size", [("8", "8", 3)]),
    ]
    assert {r.key: r.count for r in result.price_ranges} == {"under-25": 1, "25-50": 0, "50-100": 3, "100-plus": 0}
