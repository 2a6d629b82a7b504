"""Elasticsearch backend: the design document's query, boosts and aggregations.

``build_search_body`` is a pure function (tested without a cluster); ``search``
sends it through the product document's connection (3 s request timeout from
``settings.ELASTICSEARCH_DSL``) and reads ids, total and facets from the answer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from catalog.models import Category
from search import ranking
from search.analysis import split_qualifiers
from search.backends import BackendResult
from search.backends.postgres import CANDIDATE_LIMIT
from search.options import (
    FACET_KEYS,
    FACET_VALUES_SHOWN,
    PAIR_SEPARATOR,
    build_option_facets,
    counted_keys_context,
    filter_key,
)
from search.types import PRICE_RANGES, CategoryFacet, PriceRangeFacet, SearchParams, price_window

CATEGORY_FACET_SIZE = 20
# The PostgreSQL weights (search.ranking.TS_RANK_WEIGHTS) as field boosts: title A, tags B,
# category names D (a weighted field, above the description), description C.
TEXT_FIELDS = ["title^3", "tags^1.5", "category_names^1.2", "description", "option_words"]
# search.analysis.allowed_edits: one edit from 3 letters, two from 7; a swap counts as one.
FUZZINESS = "AUTO:3,7"
# Boosts that put tiers before the text score (which stays far below them): listings of a shop
# the query names, then full matches, then (among partial ones) the thing asked for.
NAMED_SHOP_BOOST = 10000
EXACT_BOOST = 1000
HEAD_BOOST = 100

_SORTS: dict[str, list[Any]] = {
    "newest": [{"created_at": "desc"}, {"_id": "desc"}],
    "price_asc": [{"price": "asc"}, {"_id": "asc"}],
    "price_desc": [{"price": "desc"}, {"_id": "desc"}],
}


def _text_match(words: tuple[str, ...], **options: Any) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": " ".join(words),
            "fields": TEXT_FIELDS,
            "fuzziness": FUZZINESS,
            "prefix_length": 2,
            **options,
        }
    }


def _keyword_query(q: str, *, relaxed: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the query a listing must match and the ranking clauses, by the PostgreSQL rules.

    Exact: every word (operator ``and``) and the vintage flag for a vintage word. Relaxed: all
    words but one (``minimum_should_match: -1``; with one word and the vintage flag, the word),
    full matches first. Handmade and gift words only rank. Listings of a shop named by the query
    match too, first.
    """
    qualified = split_qualifiers(q)
    must: list[dict[str, Any]] = []
    should: list[dict[str, Any]] = []
    if qualified.words:
        if relaxed and qualified.phrases >= 2:
            text = _text_match(qualified.words, minimum_should_match="-1")
        else:
            text = _text_match(qualified.words, operator="and")
        if relaxed and qualified.optional and qualified.concepts < 2:  # "gift for him", nothing for him: the gifts
            optional = {"multi_match": {"query": " ".join(qualified.optional), "fields": TEXT_FIELDS}}
            text = {"bool": {"should": [text, optional], "minimum_should_match": 1}}
        must.append(text)
    if qualified.vintage and not relaxed:
        must.append({"term": {"is_vintage": True}})
    if relaxed:
        exact = [_text_match(qualified.words, operator="and")] if qualified.words else []
        if qualified.vintage:
            exact.append({"term": {"is_vintage": True}})
        should.append({"bool": {"must": exact, "boost": EXACT_BOOST}})
        if qualified.phrases >= 2:
            should.append({"multi_match": {"query": qualified.words[-1], "fields": TEXT_FIELDS, "boost": HEAD_BOOST}})
    if qualified.optional:
        should.append({"multi_match": {"query": " ".join(qualified.optional), "fields": TEXT_FIELDS}})
    named_shop = {"match": {"shop_name": {"query": q, "operator": "and", "boost": NAMED_SHOP_BOOST}}}
    matched = {"bool": {"must": must}} if must else {"match_none": {}}
    return {"bool": {"should": [matched, named_shop], "minimum_should_match": 1}}, should


def build_search_body(*, params: SearchParams, category: Category | None, relaxed: bool = False) -> dict[str, Any]:
    """Return the request body for a search (query, filters, boosts, aggregations, page).

    ``relaxed``: the second request, made when full matches are fewer than a page (``search``).
    """
    q = params.q.strip()
    ranking_clauses: list[dict[str, Any]] = []
    if q:
        main, ranking_clauses = _keyword_query(q, relaxed=relaxed)
    else:
        main = {"match_all": {}}
    filters: list[dict[str, Any]] = [
        {"range": {"quantity": {"gt": 0}}},
        {"term": {"is_active": True}},
    ]
    if category is not None:
        filters.append({"prefix": {"category_path": category.path}})
    window = price_window(params)
    if window is not None:
        # A listing is in the window when one of its offerings in stock is: a range query on a field with
        # several values matches when one of them does. A facet's range is half-open, like its bucket.
        filters.append({"range": {"offer_prices": _bounds(window)}})
    chosen = params.chosen_options
    key = filter_key(chosen)
    if key is not None:
        filters.append({"term": {"option_keys": key}} if key else {"match_none": {}})
    if params.vintage is not None:
        filters.append({"term": {"is_vintage": params.vintage}})
    if params.shop_id is not None:
        filters.append({"term": {"shop_id": str(params.shop_id)}})

    query: dict[str, Any] = {"must": [main], "filter": filters}
    if ranking_clauses:
        query["should"] = ranking_clauses
    body: dict[str, Any] = {
        "query": {
            "function_score": {
                "query": {"bool": query},
                "functions": [
                    {"weight": 1},
                    {
                        "field_value_factor": {
                            "field": "shop_rating",
                            "factor": ranking.RATING_FACTOR,
                            "modifier": "sqrt",
                            "missing": ranking.RATING_MISSING,
                        },
                        "weight": ranking.RATING_WEIGHT,
                    },
                    {
                        "field_value_factor": {
                            "field": "shop_sales_count",
                            "factor": ranking.SALES_FACTOR,
                            "modifier": "log1p",
                            "missing": ranking.SALES_MISSING,
                        },
                        "weight": ranking.SALES_WEIGHT,
                    },
                    {
                        "gauss": {
                            "created_at": {
                                "origin": "now",
                                "scale": f"{ranking.RECENCY_SCALE_DAYS}d",
                                "decay": ranking.RECENCY_DECAY,
                            }
                        },
                        "weight": ranking.RECENCY_WEIGHT,
                    },
                ],
                "score_mode": "sum",
                "boost_mode": "multiply",
            }
        },
        "aggs": {
            "categories": {"terms": {"field": "category", "size": CATEGORY_FACET_SIZE}},
            # A listing counts in every bucket one of its offering prices falls in (once per bucket).
            "price_ranges": {"range": {"field": "offer_prices", "keyed": True, "ranges": _price_ranges()}},
            **_option_aggs(chosen),
        },
        "from": (params.page - 1) * params.per_page,
        "size": params.per_page,
        # Counted exactly up to the PostgreSQL bound, "10,000+" past it (relation "gte").
        "track_total_hits": CANDIDATE_LIMIT,
        "_source": False,
    }
    if params.sort != "relevance":
        body["sort"] = _SORTS[params.sort]
    if q:
        body["suggest"] = {
            "did_you_mean": {
                "text": q,
                "phrase": {
                    "field": "title.suggest",
                    "size": 1,
                    "direct_generator": [{"field": "title.suggest", "suggest_mode": "missing"}],
                },
            }
        }
    return body


def _bounds(window: tuple[Decimal | None, Decimal | None, bool]) -> dict[str, float]:
    low, high, high_inclusive = window
    bounds = {"gte": float(low)} if low is not None else {}
    if high is not None:
        bounds["lte" if high_inclusive else "lt"] = float(high)
    return bounds


def _regex_literal(text: str) -> str:
    """``text`` as a literal in a Lucene regular expression (every character but letters and digits escaped)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else "\\" + ch for ch in text)


def _option_aggs(chosen: dict[str, str]) -> dict[str, Any]:
    """One terms aggregation per facet over the option keys, read as ``build_option_facets`` expects:
    the single keys, or with one option chosen the pairs holding it (offerings having both)."""
    context = counted_keys_context(chosen)
    if context == "":
        return {}
    sep = _regex_literal(PAIR_SEPARATOR)
    aggs = {}
    for facet in FACET_KEYS:
        if facet in chosen:
            continue
        value = f"{facet}:[^{sep}]*"
        if context is None:
            include = value
        else:
            held = _regex_literal(context)
            include = f"{value}{sep}{held}|{held}{sep}{value}"
        aggs[f"option_{facet}"] = {"terms": {"field": "option_keys", "include": include, "size": FACET_VALUES_SHOWN}}
    return aggs


def _price_ranges() -> list[dict[str, Any]]:
    ranges = []
    for key, _label, low, high in PRICE_RANGES:
        bucket: dict[str, Any] = {"key": key}
        if low is not None:
            bucket["from"] = float(low)
        if high is not None:
            bucket["to"] = float(high)
        ranges.append(bucket)
    return ranges


def parse_response(response: dict[str, Any], *, chosen: dict[str, str] | None = None) -> BackendResult:
    """Read ids, total, facets and the suggestion from a search response (a plain dict).

    ``chosen``: the option filters of the request (``SearchParams.chosen_options``), which say how the
    option aggregations were counted.
    """
    chosen = chosen or {}
    hits = response.get("hits", {})
    total = hits.get("total", 0)
    capped = isinstance(total, dict) and total.get("relation") == "gte"
    total = total.get("value", 0) if isinstance(total, dict) else int(total)
    aggs = response.get("aggregations", {})
    buckets = aggs.get("categories", {}).get("buckets", [])
    names = dict(Category.objects.filter(slug__in=[b["key"] for b in buckets]).values_list("slug", "name"))
    categories = [
        CategoryFacet(slug=b["key"], name=names.get(b["key"], b["key"]), count=int(b["doc_count"])) for b in buckets
    ]
    price_buckets = aggs.get("price_ranges", {}).get("buckets", {})
    price_ranges = [
        PriceRangeFacet(
            key=key, label=label, min=low, max=high, count=int(price_buckets.get(key, {}).get("doc_count", 0))
        )
        for key, label, low, high in PRICE_RANGES
    ]
    option_counts = [
        (b["key"], int(b["doc_count"]))
        for facet in FACET_KEYS
        for b in aggs.get(f"option_{facet}", {}).get("buckets", [])
    ]
    suggestion = None
    options = response.get("suggest", {}).get("did_you_mean", [{}])
    if options and options[0].get("options"):
        suggestion = options[0]["options"][0].get("text")
    return BackendResult(
        ids=[int(hit["_id"]) for hit in hits.get("hits", [])],
        total=int(total),
        categories=categories,
        price_ranges=price_ranges,
        options=build_option_facets(option_counts, chosen=chosen, total=int(total)),
        suggestion=suggestion,
        backend="elasticsearch",
        total_is_capped=capped,
    )


def search(*, params: SearchParams, category: Category | None) -> BackendResult:
    """Query Elasticsearch; raises the client's errors (the breaker counts them).

    As in PostgreSQL: when full matches are fewer than a page and the query has two concepts
    or more, a second request adds the listings missing one, after the full matches.
    """
    result = _execute(build_search_body(params=params, category=category), chosen=params.chosen_options)
    qualified = split_qualifiers(params.q)
    can_relax = qualified.concepts >= 2 or bool(qualified.concepts and qualified.optional)
    if params.q.strip() and result.total < params.per_page and can_relax:
        exact_total = result.total
        result = _execute(
            build_search_body(params=params, category=category, relaxed=True), chosen=params.chosen_options
        )
        result.exact_total = exact_total
    result.offers_vintage_filter = qualified.vintage and params.vintage is None
    return result


def _execute(body: dict[str, Any], *, chosen: dict[str, str]) -> BackendResult:
    from search.documents import ProductDocument

    response = ProductDocument.search().update_from_dict(body).execute()
    return parse_response(response.to_dict(), chosen=chosen)


# --- The index behind its alias -------------------------------------------------------------
# Searches and single-listing updates use ``settings.ELASTICSEARCH_INDEX`` as an alias. A rebuild
# fills a new index named ``<alias>-<UTC timestamp>`` and then moves the alias in one atomic
# ``_aliases`` call, so search always has a complete index to read.


def versioned_index_name(alias: str, *, now: dt.datetime | None = None) -> str:
    return f"{alias}-{(now or dt.datetime.now(dt.UTC)):%Y%m%d%H%M%S%f}"


def index_body(*, shards: int) -> dict[str, Any]:
    """Settings and mappings of a new product index, filled fastest: no replicas, no refresh until the swap."""
    from search.documents import ProductDocument

    body = ProductDocument._index.to_dict()
    body["settings"] = {
        **body["settings"],
        "number_of_shards": shards,
        "number_of_replicas": 0,
        "refresh_interval": "-1",
    }
    return {"settings": body["settings"], "mappings": body["mappings"]}


def alias_swap_actions(*, alias: str, new_index: str, current: list[str], alias_is_index: bool) -> list[dict]:
    """One ``_aliases`` request: the alias leaves the old indices and lands on the new one together.

    A concrete index carrying the alias's name (an index built before aliases) is removed in the
    same request, which Elasticsearch applies atomically.
    """
    if alias_is_index:
        return [{"add": {"index": new_index, "alias": alias}}, {"remove_index": {"index": alias}}]
    actions: list[dict] = [{"remove": {"index": index, "alias": alias}} for index in current]
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    return actions


def _product_actions(index: str, products) -> Any:
    from search.documents import ProductDocument

    document = ProductDocument()
    for product in products:
        yield {"_op_type": "index", "_index": index, "_id": product.pk, "_source": document.prepare(product)}


def rebuild_index(*, client=None, keep_old: bool = False, batch_size: int = 1000) -> str:
    """Fill a new versioned index from PostgreSQL, swap the alias to it, and return its name.

    Listings edited while the new index filled are indexed again after the swap; old indices are
    deleted unless ``keep_old``. Raises the client's errors (the alias stays where it was).
    """
    from django.conf import settings
    from django.utils import timezone
    from elasticsearch.exceptions import NotFoundError
    from elasticsearch.helpers import bulk

    from search.documents import ProductDocument

    document = ProductDocument()
    client = client or document._get_connection()
    alias = settings.ELASTICSEARCH_INDEX
    new_index = versioned_index_name(alias)
    started = timezone.now()
    client.indices.create(
        index=new_index,
        **index_body(shards=settings.ELASTICSEARCH_SHARDS),
    )
    queryset = document.get_queryset()
    bulk(client, _product_actions(new_index, queryset.iterator(chunk_size=batch_size)), chunk_size=batch_size)
    client.indices.put_settings(
        index=new_index,
        settings={"index": {"number_of_replicas": settings.ELASTICSEARCH_REPLICAS, "refresh_interval": None}},
    )
    client.indices.refresh(index=new_index)
    try:
        current = sorted(client.indices.get_alias(name=alias).keys())
    except NotFoundError:
        current = []
    alias_is_index = not current and bool(client.indices.exists(index=alias))
    client.indices.update_aliases(
        actions=alias_swap_actions(alias=alias, new_index=new_index, current=current, alias_is_index=alias_is_index)
    )
    edited = queryset.filter(updated_at__gte=started)
    bulk(client, _product_actions(new_index, edited.iterator(chunk_size=batch_size)), chunk_size=batch_size)
    if not keep_old:
        for index in current:
            client.indices.delete(index=index, ignore_unavailable=True)
    return new_index
