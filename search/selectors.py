"""The search service: the one entry point HTML views and the API call.

``search_products`` answers from Elasticsearch when ``ELASTICSEARCH_URL`` is set
(behind ``etsy.breakers.search_breaker``) and otherwise from PostgreSQL full-text
search; when Elasticsearch fails, PostgreSQL answers and the result is marked
``degraded``. Answers are cached in Redis for ``SEARCH_CACHE_TTL`` seconds.
``list_suggestions`` completes what a shopper is typing in the search box (searches
from the PostgreSQL vocabulary, then categories), cached for the search TTL.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import replace
from decimal import Decimal
from functools import partial
from urllib.parse import urlencode

import pybreaker
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from catalog import selectors as catalog_selectors
from catalog.exceptions import CategoryNotFound
from catalog.models import Category, Product
from etsy import metrics
from etsy.breakers import search_breaker
from etsy.cache import TTL, cache_aside
from search import caching, indexing
from search.analysis import MAX_WORD_LENGTH, fold
from search.backends import BackendResult
from search.backends import postgres as postgres_backend
from search.exceptions import InvalidSearch
from search.options import FACET_KEYS, normalize_option_value
from search.options import MAX_VALUE_LENGTH as MAX_OPTION_VALUE_LENGTH
from search.synonyms import tokenize
from search.types import PRICE_RANGE_KEYS, SORTS, SearchParams, SearchResult, Suggestion

logger = logging.getLogger("search")

MAX_QUERY_LENGTH = 200
MAX_PER_PAGE = 100
MAX_PAGE = 400
MIN_SUGGEST_LENGTH = 2
MAX_SUGGEST_LENGTH = 64
MAX_SUGGESTIONS = 8
MAX_CATEGORY_SUGGESTIONS = 3  # more only when there are too few searches to fill the list


def search_products(*, params: SearchParams) -> SearchResult:
    """Return in-stock listings for the query and filters, ranked, with facets.

    Raises InvalidSearch for malformed parameters and CategoryNotFound for an unknown category.
    """
    params = _validated(params)
    started = time.perf_counter()
    answer, degraded = _answer(params)
    if answer.total and not answer.ids and params.page > 1:
        # A page past the end (an old link, a listing sold meanwhile): show the last page.
        params = replace(params, page=min(MAX_PAGE, -(-answer.total // params.per_page)))
        answer, degraded = _answer(params)
    hits = _load_listings(answer.ids)
    metrics.search_latency.labels(query_type=params.query_type).observe(time.perf_counter() - started)
    metrics.search_queries.labels(has_filters=str(params.has_filters).lower()).inc()
    metrics.search_results.observe(answer.total)
    return SearchResult(
        params=params,
        hits=hits,
        total=answer.total,
        categories=answer.categories,
        price_ranges=answer.price_ranges,
        options=answer.options,
        suggestion=answer.suggestion,
        degraded=degraded,
        backend=answer.backend,
        exact_total=answer.exact_total,
        shops=answer.shops,
        offers_vintage_filter=answer.offers_vintage_filter,
        total_is_capped=answer.total_is_capped,
    )


def _answer(params: SearchParams) -> tuple[BackendResult, bool]:
    """Return the backend's answer and whether the fallback gave it.

    Cached with the stamps of the listings it shows: when one of them changed since (sold,
    edited, deleted), the answer is rebuilt; other changes show within the TTL (search.caching).
    """
    key = caching.result_key(params, version=caching.listings_version())
    entry = cache.get(key)
    if isinstance(entry, tuple) and len(entry) == 2:  # (an answer cached by an older release is a miss)
        stamps, answer = entry
        if caching.read_listing_stamps(answer.ids) == stamps:
            metrics.cache_hits.labels(cache_type="search").inc()
            return answer, False
    metrics.cache_misses.labels(cache_type="search").inc()
    category = _resolve_category(params.category)
    answer, degraded = _ask_backends(params=params, category=category)
    if not degraded:
        stamps = caching.read_listing_stamps(answer.ids)
        cache.set(key, (stamps, answer), timeout=getattr(settings, "SEARCH_CACHE_TTL", 120))
    return answer, degraded


def _ask_backends(*, params: SearchParams, category: Category | None) -> tuple[BackendResult, bool]:
    if indexing.is_elasticsearch_enabled():
        from search.backends import elasticsearch as es_backend

        try:
            return search_breaker.call(es_backend.search, params=params, category=category), False
        except pybreaker.CircuitBreakerError:
            logger.warning("elasticsearch circuit open; answering from PostgreSQL", extra={"event": "search_fallback"})
        except Exception:
            logger.warning(
                "elasticsearch failed; answering from PostgreSQL", exc_info=True, extra={"event": "search_fallback"}
            )
        return postgres_backend.search(params=params, category=category), True
    return postgres_backend.search(params=params, category=category), False


def _validated(params: SearchParams) -> SearchParams:
    if params.sort not in SORTS:
        raise InvalidSearch(f"Unknown sort; use one of {', '.join(SORTS)}.", extra={"field": "sort"})
    if not 1 <= params.page <= MAX_PAGE:
        raise InvalidSearch(f"page must be between 1 and {MAX_PAGE}.", extra={"field": "page"})
    if not 1 <= params.per_page <= MAX_PER_PAGE:
        raise InvalidSearch(f"per_page must be between 1 and {MAX_PER_PAGE}.", extra={"field": "per_page"})
    for name in ("price_min", "price_max"):
        value = getattr(params, name)
        if value is not None and (
            not isinstance(value, Decimal) or not value.is_finite() or value < 0 or value >= Decimal("1e8")
        ):
            raise InvalidSearch(f"{name} must be a non-negative amount.", extra={"field": name})
    if params.shop_id is not None and not (isinstance(params.shop_id, int) and 1 <= params.shop_id < 2**63):
        raise InvalidSearch("shop must be a shop id.", extra={"field": "shop_id"})
    if params.price_range is not None and params.price_range not in PRICE_RANGE_KEYS:
        raise InvalidSearch(
            f"price_range must be one of {', '.join(PRICE_RANGE_KEYS)}.", extra={"field": "price_range"}
        )
    if params.vintage is not None and not isinstance(params.vintage, bool):
        raise InvalidSearch("vintage must be true or false.", extra={"field": "vintage"})
    if params.price_min is not None and params.price_max is not None and params.price_min > params.price_max:
        raise InvalidSearch("price_min must not exceed price_max.", extra={"field": "price_min"})
    options = {}
    for facet in FACET_KEYS:
        value = getattr(params, facet)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_OPTION_VALUE_LENGTH):
            raise InvalidSearch(
                f"{facet} must be an option of at most {MAX_OPTION_VALUE_LENGTH} characters.", extra={"field": facet}
            )
        options[facet] = (normalize_option_value(value) or None) if value is not None else None
    q = " ".join((params.q or "").split())[:MAX_QUERY_LENGTH]
    category = params.category or None
    if q != params.q or category != params.category or any(getattr(params, k) != v for k, v in options.items()):
        params = replace(params, q=q, category=category, **options)
    return params


def _resolve_category(slug: str | None) -> Category | None:
    if not slug:
        return None
    category = Category.objects.filter(slug=slug).only("id", "path", "slug").first()
    if category is None:
        raise CategoryNotFound()
    return category


def _load_listings(ids: list[int]) -> list[Product]:
    """Load the page's listings in rank order; one sold out, withdrawn or in a shop closed since
    the answer was built is left out (cached answers may be up to the search TTL old)."""
    if not ids:
        return []
    rows = (
        Product.objects.purchasable().filter(pk__in=ids).select_related("shop", "category").prefetch_related("images")
    )
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


# --- suggestions as you type ------------------------------------------------------------


def normalize_prefix(text: str) -> str:
    """Return the typed text folded to lower case without accents, controls or extra spaces, capped."""
    text = text[: MAX_SUGGEST_LENGTH * 4]
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in fold(text))
    return " ".join(cleaned.split())[:MAX_SUGGEST_LENGTH].rstrip()


def list_suggestions(*, prefix: str, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """Return searches completing the typed text (most listings first), then matching categories.

    Text shorter than MIN_SUGGEST_LENGTH once normalized gets no suggestions and no query.
    Answers are cached per normalized prefix for the search TTL.
    """
    normalized = normalize_prefix(prefix)
    limit = min(limit, MAX_SUGGESTIONS)
    if len(normalized) < MIN_SUGGEST_LENGTH or limit < 1:
        return []
    return cache_aside(
        caching.suggestions_key(normalized, limit=limit),
        partial(_build_suggestions, normalized, limit=limit),
        ttl=TTL["search"],
        cache_type="suggest",
    )


def _build_suggestions(prefix: str, *, limit: int) -> list[Suggestion]:
    searches = _search_suggestions(prefix, limit=limit)
    categories = _category_suggestions(prefix)
    shown = min(len(categories), limit, max(MAX_CATEGORY_SUGGESTIONS, limit - len(searches)))
    return searches[: limit - shown] + categories[:shown]


def _search_suggestions(prefix: str, *, limit: int) -> list[Suggestion]:
    """Complete the last word being typed from the indexed vocabulary (one query)."""
    head, _, word = prefix.rpartition(" ")
    if len(word) > MAX_WORD_LENGTH:  # nothing that long is indexed
        return []
    results_url = reverse("search:results")
    suggestions = []
    for completion in postgres_backend.complete_word(prefix=word, limit=limit):
        label = f"{head} {completion}" if head else completion
        suggestions.append(Suggestion(kind="query", label=label, url=f"{results_url}?{urlencode({'q': label})}"))
    return suggestions


def _category_suggestions(prefix: str) -> list[Suggestion]:
    """Categories with a word starting with the typed words; names starting so first, then top levels."""
    needle = " " + " ".join(tokenize(prefix))
    if not needle.strip():
        return []
    found = []
    for category in catalog_selectors.get_category_tree().by_id.values():
        at = (" " + " ".join(tokenize(fold(category.name)))).find(needle)
        if at >= 0:
            found.append((at > 0, category.depth, category.name, category))
    found.sort(key=lambda item: item[:3])
    return [Suggestion(kind="category", label=category.name, url=category.get_absolute_url()) for *_, category in found]
