"""Elasticsearch backend without a cluster: index definition, query bodies, response parsing, fallback."""

from decimal import Decimal

import elasticsearch
import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from etsy.breakers import reset_all, search_breaker
from search import selectors
from search.backends import BackendResult
from search.backends import elasticsearch as es_backend
from search.backends.postgres import CANDIDATE_LIMIT
from search.documents import ProductDocument
from search.synonyms import solr_lines
from search.types import SearchParams
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.shops.factories import ShopFactory


@pytest.fixture(autouse=True)
def _closed_breaker():
    reset_all()
    yield
    reset_all()


def test_index_settings_define_the_documented_analyzer_with_the_synonyms_file():
    settings = ProductDocument._index.to_dict()["settings"]
    analysis = settings["analysis"]

    analyzer = analysis["analyzer"]["etsy_analyzer"]
    assert analyzer["tokenizer"] == "standard"
    assert analyzer["filter"] == ["lowercase", "asciifolding", "etsy_synonyms", "etsy_stemmer"]
    assert analysis["filter"]["etsy_synonyms"] == {"type": "synonym_graph", "synonyms": solr_lines()}
    assert analysis["filter"]["etsy_stemmer"] == {"type": "stemmer", "language": "english"}
    assert "wallet, billfold, cardholder, card holder, pocketbook, bifold wallet" in solr_lines()
    assert "purse => purse, wallet" in solr_lines()
    # Listings are indexed with the same chain minus synonyms (synonym_graph is search-time only).
    assert analysis["analyzer"]["etsy_index_analyzer"]["filter"] == ["lowercase", "asciifolding", "etsy_stemmer"]


def test_mapping_has_the_documented_fields():
    properties = ProductDocument._index.to_dict()["mappings"]["properties"]

    for name in ("title", "description", "tags", "category_names"):
        assert properties[name]["type"] == "text"
        assert properties[name]["analyzer"] == "etsy_index_analyzer"
        assert properties[name]["search_analyzer"] == "etsy_analyzer"
    assert properties["tags"]["fields"]["raw"] == {"type": "keyword"}
    expected = {
        "category": "keyword",
        "category_path": "keyword",
        "price": "float",
        "shop_id": "keyword",
        "shop_rating": "float",
        "shop_sales_count": "integer",
        "is_vintage": "boolean",
        "quantity": "integer",
        "created_at": "date",
        "is_active": "boolean",
    }
    assert {name: properties[name]["type"] for name in expected} == expected


@pytest.mark.django_db
def test_document_denormalizes_shop_rating_and_sales_count():
    shop = ShopFactory(rating=Decimal("4.7"), sales_count=321)
    parent = CategoryFactory(slug="jewelry", name="Jewelry")
    category = CategoryFactory(slug="rings", name="Rings", parent=parent)
    category.refresh_from_db()
    product = ProductFactory(
        shop=shop,
        category=category,
        title="Silver ring",
        price=Decimal("42.50"),
        tags=["ring", "silver"],
        quantity=3,
        is_vintage=True,
    )

    doc = ProductDocument().prepare(product)

    assert doc["shop_rating"] == 4.7
    assert doc["shop_sales_count"] == 321
    assert doc["shop_id"] == str(shop.pk)
    assert doc["category"] == "rings"
    assert doc["category_path"] == category.path and category.path.startswith(parent.path)
    assert doc["price"] == 42.5
    assert doc["tags"] == ["ring", "silver", "vintage"]
    assert doc["category_names"] == "Jewelry Rings"
    assert doc["quantity"] == 3 and doc["is_vintage"] is True and doc["is_active"] is True


def test_keyword_query_body_is_the_documented_multi_match_with_boosts_and_aggregations():
    body = es_backend.build_search_body(params=SearchParams(q="leather wallet"), category=None)

    function_score = body["query"]["function_score"]
    bool_query = function_score["query"]["bool"]
    text = {
        "multi_match": {
            "query": "leather wallet",
            "fields": ["title^3", "tags^1.5", "category_names^1.2", "description", "option_words"],
            "fuzziness": "AUTO:3,7",
            "prefix_length": 2,
            "operator": "and",
        }
    }
    shop = {"match": {"shop_name": {"query": "leather wallet", "operator": "and", "boost": 10000}}}
    # Every word (a full match), or a shop the query names.
    assert bool_query["must"] == [{"bool": {"should": [{"bool": {"must": [text]}}, shop], "minimum_should_match": 1}}]
    assert "should" not in bool_query
    assert {"range": {"quantity": {"gt": 0}}} in bool_query["filter"]
    functions = function_score["functions"]
    assert functions[1]["field_value_factor"] == {
        "field": "shop_rating",
        "factor": 1.5,
        "modifier": "sqrt",
        "missing": 3.0,
    }
    assert functions[2]["field_value_factor"] == {
        "field": "shop_sales_count",
        "factor": 1.2,
        "modifier": "log1p",
        "missing": 0,
    }
    assert functions[3]["gauss"] == {"created_at": {"origin": "now", "scale": "30d", "decay": 0.5}}
    assert body["aggs"]["categories"] == {"terms": {"field": "category", "size": 20}}
    assert body["aggs"]["price_ranges"]["range"]["ranges"] == [
        {"key": "under-25", "to": 25.0},
        {"key": "25-50", "from": 25.0, "to": 50.0},
        {"key": "50-100", "from": 50.0, "to": 100.0},
        {"key": "100-plus", "from": 100.0},
    ]
    assert body["from"] == 0 and body["size"] == 24 and "sort" not in body
    assert body["suggest"]["did_you_mean"]["text"] == "leather wallet"


@pytest.mark.django_db
def test_filters_become_filter_clauses_and_sorts_become_sort():
    parent = CategoryFactory(slug="jewelry")
    parent.refresh_from_db()
    params = SearchParams(
        q="ring",
        category="jewelry",
        price_min=Decimal("10"),
        price_max=Decimal("99.5"),
        vintage=False,
        shop_id=7,
        sort="price_desc",
        page=3,
        per_page=10,
    )

    body = es_backend.build_search_body(params=params, category=parent)

    filters = body["query"]["function_score"]["query"]["bool"]["filter"]
    assert {"prefix": {"category_path": parent.path}} in filters
    assert {"range": {"offer_prices": {"gte": 10.0, "lte": 99.5}}} in filters
    assert {"term": {"is_vintage": False}} in filters
    assert {"term": {"shop_id": "7"}} in filters
    assert {"range": {"quantity": {"gt": 0}}} in filters
    assert body["sort"] == [{"price": "desc"}, {"_id": "desc"}]
    assert body["from"] == 20 and body["size"] == 10


def test_browse_query_body_matches_all_in_stock():
    body = es_backend.build_search_body(params=SearchParams(q="", sort="newest"), category=None)

    assert body["query"]["function_score"]["query"]["bool"]["must"] == [{"match_all": {}}]
    assert body["sort"] == [{"created_at": "desc"}, {"_id": "desc"}]
    assert "suggest" not in body


@pytest.mark.django_db
def test_response_is_parsed_into_ids_total_facets_and_suggestion():
    CategoryFactory(slug="wallets", name="Wallets")
    response = {
        "hits": {"total": {"value": 42, "relation": "eq"}, "hits": [{"_id": "9"}, {"_id": "3"}]},
        "aggregations": {
            "categories": {"buckets": [{"key": "wallets", "doc_count": 40}, {"key": "gone", "doc_count": 2}]},
            "price_ranges": {
                "buckets": {
                    "under-25": {"doc_count": 1},
                    "25-50": {"doc_count": 30},
                    "50-100": {"doc_count": 11},
                    "100-plus": {"doc_count": 0},
                }
            },
        },
        "suggest": {"did_you_mean": [{"text": "lether walet", "options": [{"text": "leather wallet"}]}]},
    }

    result = es_backend.parse_response(response)

    assert result.ids == [9, 3] and result.total == 42 and result.backend == "elasticsearch"
    assert [(c.slug, c.name, c.count) for c in result.categories] == [("wallets", "Wallets", 40), ("gone", "gone", 2)]
    assert [p.count for p in result.price_ranges] == [1, 30, 11, 0]
    assert result.suggestion == "leather wallet"


@pytest.mark.django_db
@override_settings(ELASTICSEARCH_URL="http://es.invalid:9200")
def test_elasticsearch_answer_is_loaded_in_rank_order(monkeypatch):
    first, second = ProductFactory(title="Second wallet"), ProductFactory(title="First wallet")
    sold_out = ProductFactory(title="Sold wallet", quantity=0)
    monkeypatch.setattr(
        es_backend,
        "search",
        lambda *, params, category: BackendResult(
            ids=[second.pk, sold_out.pk, first.pk], total=2, backend="elasticsearch"
        ),
    )

    result = selectors.search_products(params=SearchParams(q="wallet"))

    assert [p.pk for p in result.hits] == [second.pk, first.pk]
    assert result.backend == "elasticsearch" and result.degraded is False


@pytest.mark.django_db
@override_settings(ELASTICSEARCH_URL="http://es.invalid:9200")
def test_elasticsearch_failure_falls_back_to_postgres_marked_degraded(monkeypatch):
    ProductFactory(title="Leather wallet")
    calls = []

    def failing(*, params, category):
        calls.append(params.q)
        raise elasticsearch.ConnectionError("connection refused")

    monkeypatch.setattr(es_backend, "search", failing)

    result = selectors.search_products(params=SearchParams(q="leather wallet"))
    again = selectors.search_products(params=SearchParams(q="leather wallet"))

    assert [p.title for p in result.hits] == ["Leather wallet"]
    assert result.degraded is True and result.backend == "postgres"
    assert again.degraded is True and len(calls) == 2  # a degraded answer is never cached


@pytest.mark.django_db
@override_settings(ELASTICSEARCH_URL="http://es.invalid:9200")
def test_breaker_opens_after_half_of_ten_calls_fail_and_stops_calling_elasticsearch(monkeypatch):
    ProductFactory(title="Leather wallet")
    calls = []

    def failing(*, params, category):
        calls.append(1)
        raise elasticsearch.ConnectionTimeout("timed out")

    monkeypatch.setattr(es_backend, "search", failing)

    for i in range(12):
        result = selectors.search_products(params=SearchParams(q=f"wallet {i}"))
        assert result.degraded is True
    assert search_breaker.current_state == "open"
    assert len(calls) == 10


@pytest.mark.django_db
def test_without_elasticsearch_url_postgres_answers_not_degraded(monkeypatch):
    ProductFactory(title="Leather wallet")
    monkeypatch.setattr(es_backend, "search", lambda **kw: pytest.fail("Elasticsearch must not be called"))

    result = selectors.search_products(params=SearchParams(q="wallet"))

    assert result.backend == "postgres" and result.degraded is False and result.total == 1


@pytest.mark.django_db
def test_metrics_are_recorded(monkeypatch):
    ProductFactory(title="Leather wallet")

    def value(name, labels=None):
        return REGISTRY.get_sample_value(name, labels or {}) or 0

    before = (
        value("etsy_search_latency_seconds_count", {"query_type": "keyword"}),
        value("etsy_search_queries_total", {"has_filters": "true"}),
        value("etsy_search_results_count_count"),
        value("etsy_cache_misses_total", {"cache_type": "search"}),
        value("etsy_cache_hits_total", {"cache_type": "search"}),
    )
    params = SearchParams(q="wallet", vintage=False)
    selectors.search_products(params=params)
    selectors.search_products(params=params)
    after = (
        value("etsy_search_latency_seconds_count", {"query_type": "keyword"}),
        value("etsy_search_queries_total", {"has_filters": "true"}),
        value("etsy_search_results_count_count"),
        value("etsy_cache_misses_total", {"cache_type": "search"}),
        value("etsy_cache_hits_total", {"cache_type": "search"}),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2, 2, 1, 1]


@pytest.mark.django_db
def test_search_sends_the_body_to_the_products_index_and_reads_the_answer(monkeypatch):
    from unittest import mock

    wallet = ProductFactory(title="Leather wallet")
    client = mock.Mock()
    client.search.return_value = mock.Mock(
        body={
            "hits": {"total": {"value": 1, "relation": "eq"}, "hits": [{"_id": str(wallet.pk), "_score": 3.2}]},
            "aggregations": {"categories": {"buckets": []}, "price_ranges": {"buckets": {}}},
        }
    )
    monkeypatch.setattr("elasticsearch.dsl._sync.search.get_connection", lambda using=None: client)

    result = es_backend.search(params=SearchParams(q="leather wallet", per_page=5), category=None)

    assert result.ids == [wallet.pk] and result.total == 1
    kwargs = client.search.call_args.kwargs
    assert kwargs["index"] == ["products"]
    sent = kwargs["body"]
    text = sent["query"]["function_score"]["query"]["bool"]["must"][0]["bool"]["should"][0]["bool"]["must"][0]
    assert text["multi_match"]["fuzziness"] == "AUTO:3,7"
    assert sent["size"] == 5 and sent["track_total_hits"] == CANDIDATE_LIMIT  # the PostgreSQL bound
    assert set(sent["aggs"]) == {"categories", "price_ranges", "option_colour", "option_size", "option_material"}


@pytest.mark.django_db
def test_search_index_rebuild_recreates_the_index_and_sends_every_listing_with_progress(monkeypatch, capsys):
    from unittest import mock

    from django.core.management import call_command
    from elasticsearch.dsl.connections import connections

    shop = ShopFactory(rating=Decimal("4.2"), sales_count=12)
    products = [ProductFactory(shop=shop, title=f"Mug {i}") for i in range(3)]
    client = mock.MagicMock()
    client.indices.get_alias.return_value = {}
    client.indices.exists.return_value = True
    sent = []

    def fake_bulk(client, actions, **kwargs):
        sent.extend(actions)
        return len(sent), []

    monkeypatch.setitem(connections._conns, "default", client)
    monkeypatch.setattr("django_elasticsearch_dsl.documents.bulk", fake_bulk)

    call_command("search_index", "--rebuild", "-f", "--models", "catalog.Product")

    client.indices.delete.assert_called_once()
    created = client.indices.create.call_args.kwargs
    assert created["index"] == "products"
    assert "etsy_analyzer" in created["body"]["settings"]["analysis"]["analyzer"]
    assert sorted(a["_id"] for a in sent) == sorted(p.pk for p in products)
    source = next(a["_source"] for a in sent if a["_id"] == products[0].pk)
    assert source["shop_rating"] == 4.2 and source["shop_sales_count"] == 12 and source["title"] == "Mug 0"
    assert "Indexing products" in capsys.readouterr().err


@pytest.mark.django_db
def test_preparing_many_listings_does_not_query_per_listing(django_assert_max_num_queries):
    products = [ProductFactory() for _ in range(5)]
    document = ProductDocument()
    listings = list(document.get_queryset().filter(pk__in=[p.pk for p in products]))

    with django_assert_max_num_queries(1):
        docs = [document.prepare(p) for p in listings]
    assert len(docs) == 5


def _must(body):
    return body["query"]["function_score"]["query"]["bool"]["must"][0]["bool"]["should"][0]["bool"]["must"]


def test_relaxed_body_needs_all_words_but_one_and_ranks_full_matches_and_the_thing_asked_for_first():
    body = es_backend.build_search_body(params=SearchParams(q="silver locket"), category=None, relaxed=True)

    (text,) = _must(body)
    assert text["multi_match"]["minimum_should_match"] == "-1" and "operator" not in text["multi_match"]
    should = body["query"]["function_score"]["query"]["bool"]["should"]
    exact, head = should
    assert exact["bool"]["boost"] == es_backend.EXACT_BOOST
    assert exact["bool"]["must"][0]["multi_match"]["operator"] == "and"
    assert head["multi_match"]["query"] == "locket" and head["multi_match"]["boost"] == es_backend.HEAD_BOOST


def test_vintage_words_ask_for_the_vintage_flag_and_handmade_words_only_rank():
    body = es_backend.build_search_body(params=SearchParams(q="antique handmade mirror"), category=None)

    text, flag = _must(body)
    assert text["multi_match"]["query"] == "mirror"
    assert flag == {"term": {"is_vintage": True}}
    (handmade,) = body["query"]["function_score"]["query"]["bool"]["should"]
    assert handmade["multi_match"]["query"] == "handmade"

    relaxed = es_backend.build_search_body(params=SearchParams(q="antique mirror"), category=None, relaxed=True)
    (text,) = _must(relaxed)  # one word and the flag: listings missing the flag, never the flag alone
    assert text["multi_match"]["query"] == "mirror" and text["multi_match"]["operator"] == "and"
    exact = relaxed["query"]["function_score"]["query"]["bool"]["should"][0]["bool"]["must"]
    assert {"term": {"is_vintage": True}} in exact


def test_vintage_alone_is_the_vintage_flag():
    body = es_backend.build_search_body(params=SearchParams(q="vintage"), category=None)

    assert _must(body) == [{"term": {"is_vintage": True}}]


@pytest.mark.parametrize(
    ("key", "bounds"),
    [
        ("under-25", {"lt": 25.0}),
        ("25-50", {"gte": 25.0, "lt": 50.0}),
        ("50-100", {"gte": 50.0, "lt": 100.0}),
        ("100-plus", {"gte": 100.0}),
    ],
)
def test_price_range_filter_has_the_half_open_bounds_of_its_aggregation_bucket(key, bounds):
    body = es_backend.build_search_body(params=SearchParams(q="ring", price_range=key), category=None)

    filters = body["query"]["function_score"]["query"]["bool"]["filter"]
    assert {"range": {"offer_prices": bounds}} in filters
    bucket = next(b for b in body["aggs"]["price_ranges"]["range"]["ranges"] if b["key"] == key)
    # A range aggregation counts "from" <= price < "to": the same interval.
    assert (bucket.get("from"), bucket.get("to")) == (bounds.get("gte"), bounds.get("lt"))


def test_mapping_searches_shop_names_and_category_names_with_the_text_analyzers():
    properties = ProductDocument._index.to_dict()["mappings"]["properties"]

    for name in ("shop_name", "category_names"):
        assert properties[name]["type"] == "text"
        assert properties[name]["analyzer"] == "etsy_index_analyzer"
        assert properties[name]["search_analyzer"] == "etsy_analyzer"
    assert "category_names^1.2" in es_backend.TEXT_FIELDS


@pytest.mark.django_db
def test_document_carries_the_shop_name():
    shop = ShopFactory(name="Rowan Trading Post")
    product = ProductFactory(shop=shop)

    assert ProductDocument().prepare(product)["shop_name"] == "Rowan Trading Post"


@pytest.mark.django_db
def test_search_asks_again_for_partial_matches_when_full_ones_are_fewer_than_a_page(monkeypatch):
    from unittest import mock

    full, partial = ProductFactory(title="Silver locket"), ProductFactory(title="Silver chain")
    answers = [
        {"hits": {"total": {"value": 1}, "hits": [{"_id": str(full.pk)}]}},
        {"hits": {"total": {"value": 2}, "hits": [{"_id": str(full.pk)}, {"_id": str(partial.pk)}]}},
    ]
    client = mock.Mock()
    client.search.side_effect = [mock.Mock(body=answer) for answer in answers]
    monkeypatch.setattr("elasticsearch.dsl._sync.search.get_connection", lambda using=None: client)

    result = es_backend.search(params=SearchParams(q="antique silver locket", per_page=10), category=None)

    assert result.ids == [full.pk, partial.pk] and result.total == 2 and result.exact_total == 1
    assert result.offers_vintage_filter is True
    first, second = (call.kwargs["body"] for call in client.search.call_args_list)
    assert "should" not in first["query"]["function_score"]["query"]["bool"]
    assert second["query"]["function_score"]["query"]["bool"]["should"][0]["bool"]["boost"] == es_backend.EXACT_BOOST


def test_relaxed_body_for_one_concept_and_a_gift_word_lets_the_gifts_follow():
    body = es_backend.build_search_body(params=SearchParams(q="gift for him"), category=None, relaxed=True)

    (either,) = _must(body)
    text, gift = either["bool"]["should"]
    assert text["multi_match"]["query"] == "for him" and gift["multi_match"]["query"] == "gift"
    assert either["bool"]["minimum_should_match"] == 1


def test_total_past_the_tracked_bound_reads_as_capped():
    result = es_backend.parse_response({"hits": {"total": {"value": 10000, "relation": "gte"}, "hits": []}})

    assert result.total == 10000 and result.total_is_capped is True
