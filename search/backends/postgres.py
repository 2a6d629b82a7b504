"""PostgreSQL full-text search: the default backend and the fallback behind Elasticsearch.

One SQL statement answers a search: the matching listings are scored once (text
rank x the shared boosts of ``search.ranking``) and the page, the total and both
facets are read from that set. Every value from the shopper is a bind parameter;
the statement's shape depends only on how many term groups the query has.
It reads ``search_listing`` (migration 0003): the buyable listings only, kept
current by triggers in the writing transaction, with the shop figures the boosts need.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from django.db import connections, router

from catalog.models import Category
from search import ranking
from search.analysis import AnalyzedQuery, TermGroup, analyze
from search.backends import BackendResult
from search.types import (
    PRICE_RANGES,
    CategoryFacet,
    PriceRangeFacet,
    SearchParams,
    ShopMatch,
    price_range_bounds,
)

CATEGORY_FACET_SIZE = 20
# Bonus (relative to one concept) for using the shopper's own words rather than a synonym.
EXACT_WORDS_WEIGHT = 0.5
# Listings of a shop the query names have no text score of their own to order them by.
NAMED_SHOP_RANK = 0.1
NAMED_SHOPS_LIMIT = 3
MAX_SHOP_QUERY_WORDS = 5

# Tiers, best first: listings of a shop the query names, listings matching every concept,
# listings missing one concept, listings only filed under a category the query names.
TIER_SHOP, TIER_EXACT, TIER_PARTIAL, TIER_CATEGORY = 3, 2, 1, 0

# A query matching more listings than this ("handmade" matches most of the catalog) is answered
# from this many candidates: the newest (recency is part of the ranking) or the first by the sort
# asked for, read in index order, so its cost stops growing with the catalog. The total then
# reads "10,000+" and the facets count the candidates (``total_is_capped``).
CANDIDATE_LIMIT = 10_000
_CANDIDATES_ORDER = {
    "relevance": "p.created_at DESC, p.product_id DESC",
    "newest": "p.created_at DESC, p.product_id DESC",
    "price_asc": "p.price ASC, p.product_id ASC",
    "price_desc": "p.price DESC, p.product_id DESC",
}

_ORDER_BY = {
    "relevance": "tier DESC, head DESC, score DESC, created_at DESC, id DESC",
    "newest": "tier DESC, created_at DESC, id DESC",
    "price_asc": "tier DESC, price ASC, id ASC",
    "price_desc": "tier DESC, price DESC, id DESC",
}
_BROWSE_ORDER_BY = {
    "relevance": "score DESC, created_at DESC, id DESC",
    "newest": "created_at DESC, id DESC",
    "price_asc": "price ASC, id ASC",
    "price_desc": "price DESC, id DESC",
}

# float8 throughout: numeric ln/power are orders of magnitude slower per row.
_RATING = (
    f"{float(ranking.RATING_FACTOR)}::float8 * coalesce(p.shop_rating::float8, {float(ranking.RATING_MISSING)}::float8)"
)
_SALES = f"{float(ranking.SALES_FACTOR)}::float8 * coalesce(p.shop_sales_count, {int(ranking.SALES_MISSING)})::float8"
_AGE = f"date_part('epoch', now() - p.created_at) / {float(ranking.RECENCY_SCALE_DAYS * 86400)}::float8"
_BOOST_SQL = (
    f"(1 + {float(ranking.RATING_WEIGHT)}::float8 * sqrt({_RATING})"
    f" + {float(ranking.SALES_WEIGHT)}::float8 * ln(1 + {_SALES})"
    # The exponent is floored: exp() of a very old listing would underflow (an error, not zero).
    f" + {float(ranking.RECENCY_WEIGHT)}::float8 * exp(greatest(-60::float8,"
    f" {math.log(ranking.RECENCY_DECAY)}::float8 * power({_AGE}, 2))))"
)

# An array from an InitPlan (never NULL): the shop_id index joins the text index in one bitmap scan.
_IN_NAMED_SHOP = "p.shop_id = ANY (coalesce((SELECT array_agg(id) FROM named), '{}')::bigint[])"

_TS_WEIGHTS = "'{{{}}}'::float4[]".format(",".join(str(float(w)) for w in ranking.TS_RANK_WEIGHTS))


@dataclass
class _Plan:
    """What a listing must have to match the query, and what only ranks it."""

    analyzed: AnalyzedQuery
    required: list[TermGroup]  # concepts matched in the text
    vintage: TermGroup | None  # "vintage", "antique", "retro": the listing's vintage flag
    optional: list[TermGroup]  # "handmade", "gift" and their synonyms: rank, never exclude
    shop_query: str  # the words, when few enough to be a shop's name ("" otherwise)

    @property
    def concepts(self) -> int:
        return len(self.required) + (self.vintage is not None)

    @property
    def can_relax(self) -> bool:
        # "gift for him" with nothing for him: the gifts, after whatever there is.
        return self.concepts >= 2 or bool(self.concepts and self.optional)


def _plan(analyzed: AnalyzedQuery) -> _Plan:
    required = [g for g in analyzed.groups if not g.is_qualifier]
    vintage = next((g for g in analyzed.groups if g.kind == "vintage"), None)
    optional = [g for g in analyzed.groups if g.kind in ("handmade", "gift")]
    if not required and vintage is None:
        # "handmade" or "gift" alone: the word is all the shopper gave us.
        required, optional = optional, []
    shop_query = " ".join(analyzed.words) if len(analyzed.words) <= MAX_SHOP_QUERY_WORDS else ""
    return _Plan(analyzed=analyzed, required=required, vintage=vintage, optional=optional, shop_query=shop_query)


def search(*, params: SearchParams, category: Category | None) -> BackendResult:
    """Search listings in stock; ``category`` (already resolved) includes its subcategories.

    Listings matching every concept come first. When they are fewer than a page and the query
    has two concepts or more, listings missing one concept follow, then listings filed under a
    category the query names; ``exact_total`` tells where the first group ends.
    """
    q = params.q.strip()
    if not q:
        return _run(params=params, category=category, plan=None, relaxed=False)
    analyzed = analyze(q)
    if analyzed.is_empty:
        return BackendResult(ids=[], total=0, price_ranges=_empty_price_ranges(), suggestion=analyzed.suggestion)
    plan = _plan(analyzed)
    result = _run(params=params, category=category, plan=plan, relaxed=False)
    if result.total < params.per_page and plan.can_relax:
        exact_total = result.total
        result = _run(params=params, category=category, plan=plan, relaxed=True)
        result.exact_total = exact_total
    # "Did you mean" only when the corrected words find something (the analysis offers a
    # correction only when it is used by more listings than the words typed).
    result.suggestion = analyzed.suggestion if result.total else None
    result.offers_vintage_filter = plan.vintage is not None and params.vintage is None
    return result


def _match(plan: _Plan, *, relaxed: bool, sql_params: dict[str, object]) -> tuple[str, str, str]:
    """Return the SQL condition a listing must meet, its tier and its head-concept flag."""
    # Group queries arrive stemmed (tsquery text built from [^\W_]+ lexemes) as typed
    # parameters: the planner sees constants, and nothing is re-parsed per row.
    texts = []
    for i, group in enumerate(plan.required):
        sql_params[f"g{i}"] = group.tsquery_text()
        texts.append(f"({group.tsquery_text()})")
    conditions = []
    if not relaxed:
        if texts:
            sql_params["match"] = " & ".join(texts)
            conditions.append("p.search_vector @@ %(match)s::tsquery")
        if plan.vintage is not None:
            conditions.append("p.is_vintage")
        tier = str(TIER_EXACT)
    else:
        # Every way of leaving one concept out (with the vintage flag and one concept: listings
        # missing the flag, never the flag alone), so the GIN index still intersects posting lists.
        # What is left must hold a word the shopper typed, not only spelling guesses.
        count = len(texts)
        combinations = [[j for j in range(count) if j != skip] for skip in range(count)] if count >= 2 else [[0]]
        parts = [
            " & ".join(texts[j] for j in combination)
            for combination in combinations
            if any(not plan.required[j].is_guess for j in combination)
        ]
        parts += [f"({g.tsquery_text('D')})" for g in plan.required if not g.is_guess]
        if plan.concepts < 2:  # "gift for him" with nothing for him: the gifts, after whatever there is
            parts += [f"({g.tsquery_text()})" for g in plan.optional]
        if parts:
            sql_params["match"] = " | ".join(f"({part})" for part in parts)
            conditions.append("p.search_vector @@ %(match)s::tsquery")
        else:
            conditions.append("false")
        coverage = " + ".join(f"(p.search_vector @@ %(g{i})s::tsquery)::int" for i in range(len(texts)))
        if plan.vintage is not None:
            coverage += " + p.is_vintage::int"
        tier = (
            f"CASE WHEN {coverage} >= {plan.concepts} THEN {TIER_EXACT}"
            f" WHEN {coverage} = {plan.concepts - 1} THEN {TIER_PARTIAL} ELSE {TIER_CATEGORY} END"
        )
    match = " AND ".join(conditions) or "false"
    if plan.shop_query:
        match = f"(({match}) OR {_IN_NAMED_SHOP})"
        tier = f"CASE WHEN {_IN_NAMED_SHOP} THEN {TIER_SHOP} ELSE {tier} END"
    # English puts the thing last ("pendant lamp", "leather tote"): among listings missing one
    # concept, those that are the thing asked for come before those that only share a word with it.
    head = f"(p.search_vector @@ %(g{len(texts) - 1})s::tsquery)::int" if len(texts) >= 2 else "0"
    return match, tier, head


def _run(*, params: SearchParams, category: Category | None, plan: _Plan | None, relaxed: bool) -> BackendResult:
    sql_params: dict[str, object] = {}
    where = ["true"]  # search_listing holds only buyable listings (active, in stock, active shop)
    tier = head = "0"
    if plan is not None:
        match, tier, head = _match(plan, relaxed=relaxed, sql_params=sql_params)
        where.append(match)
        # One rank per concept, summed: a listing with every concept in its title beats one that
        # has a single concept there, however many synonyms a concept expands to.
        ranked = [*plan.required, *([plan.vintage] if plan.vintage else []), *plan.optional]
        terms = []
        for i, group in enumerate(ranked):
            sql_params[f"r{i}"] = group.tsquery_text()
            terms.append(f"ts_rank({_TS_WEIGHTS}, p.search_vector, %(r{i})s::tsquery)")
        text_rank = " + ".join(terms) or "0"
        if plan.analyzed.exact_words:
            sql_params["exact_words"] = plan.analyzed.exact_words
            text_rank += f" + {EXACT_WORDS_WEIGHT} * ts_rank({_TS_WEIGHTS}, p.search_vector, %(exact_words)s::tsquery)"
        if plan.shop_query:
            text_rank += f" + {NAMED_SHOP_RANK} * ({_IN_NAMED_SHOP})::int"
            sql_params["shop_query"] = plan.shop_query
        score = f"({text_rank}) * {_BOOST_SQL}"
    else:
        score = _BOOST_SQL
    if params.sort != "relevance":
        score = "0"
    if category is not None:
        where.append("p.category_id IN (SELECT c.id FROM catalog_category c WHERE c.path LIKE %(category_path)s)")
        sql_params["category_path"] = category.path + "%"
    if params.price_min is not None:
        where.append("p.price >= %(price_min)s")
        sql_params["price_min"] = params.price_min
    if params.price_max is not None:
        where.append("p.price <= %(price_max)s")
        sql_params["price_max"] = params.price_max
    if params.price_range is not None:
        for bound, (op, value) in zip(("low", "high"), ((">=", 0), ("<", 1)), strict=True):
            limit = price_range_bounds(params.price_range)[value]
            if limit is not None:
                where.append(f"p.price {op} %(range_{bound})s")
                sql_params[f"range_{bound}"] = limit
    if params.vintage is not None:
        where.append("p.is_vintage = %(vintage)s")
        sql_params["vintage"] = params.vintage
    if params.shop_id is not None:
        where.append("p.shop_id = %(shop_id)s")
        sql_params["shop_id"] = params.shop_id

    price_counts = []
    for i, (_key, _label, low, high) in enumerate(PRICE_RANGES):
        # The same half-open intervals as the price_range filter above.
        conds = []
        if low is not None:
            conds.append(f"p.price >= %(pr{i}_low)s")
            sql_params[f"pr{i}_low"] = low
        if high is not None:
            conds.append(f"p.price < %(pr{i}_high)s")
            sql_params[f"pr{i}_high"] = high
        price_counts.append(f"count(*) FILTER (WHERE {' AND '.join(conds) or 'true'})")
    sql_params["limit"] = params.per_page
    sql_params["offset"] = (params.page - 1) * params.per_page
    sql_params["facet_size"] = CATEGORY_FACET_SIZE

    if plan is None:
        sql = _browse_sql(
            where=" AND ".join(where), score=score, order_by=_BROWSE_ORDER_BY[params.sort], price_counts=price_counts
        )
        return _fetch(sql, sql_params)

    def search_sql(candidates_order: str | None) -> str:
        return _search_sql(
            named=_NAMED_SHOPS_SQL if plan.shop_query else _NO_SHOPS_SQL,
            where=" AND ".join(where),
            score=score,
            tier=tier,
            head=head,
            order_by=_ORDER_BY[params.sort],
            price_counts=price_counts,
            candidates_order=candidates_order,
        )

    # Every match when there are at most CANDIDATE_LIMIT (one more tells there are more)...
    sql_params["candidate_limit"] = CANDIDATE_LIMIT + 1
    result = _fetch(search_sql(None), sql_params)
    if result.total <= CANDIDATE_LIMIT:
        return result
    # ...else a broad query: the best CANDIDATE_LIMIT by recency (part of the ranking) or by the
    # sort asked for, read from the index in that order; "10,000+" and facets of those.
    sql_params["candidate_limit"] = CANDIDATE_LIMIT
    result = _fetch(search_sql(_CANDIDATES_ORDER[params.sort]), sql_params)
    result.total_is_capped = True
    return result


def _fetch(sql: str, sql_params: dict[str, object]) -> BackendResult:
    with connections[router.db_for_read(Category)].cursor() as cursor:
        cursor.execute(sql, sql_params)
        total, categories, prices, ids, *shops = cursor.fetchone()
    categories = json.loads(categories) if isinstance(categories, str) else categories
    prices = json.loads(prices) if isinstance(prices, str) else prices
    shops = json.loads(shops[0]) if shops and isinstance(shops[0], str) else (shops[0] if shops else None)
    return BackendResult(
        shops=[ShopMatch(id=int(i), name=name, slug=slug) for i, name, slug in shops or ()],
        ids=list(ids),
        total=int(total),
        categories=[CategoryFacet(slug=slug, name=name, count=int(n)) for slug, name, n in categories],
        price_ranges=[
            PriceRangeFacet(key=key, label=label, min=low, max=high, count=int(n))
            for (key, label, low, high), n in zip(PRICE_RANGES, prices, strict=True)
        ],
    )


def _search_sql(
    *,
    named: str,
    where: str,
    score: str,
    tier: str,
    head: str,
    order_by: str,
    price_counts: list[str],
    candidates_order: str | None,
) -> str:
    """Score the matches once; read the total, facets, the page and the named shops from that set.

    At most ``candidate_limit`` matches are read: all of them when fewer (the figures are exact),
    else the best by ``candidates_order`` (a broad query: see ``CANDIDATE_LIMIT``).
    """
    order = f"ORDER BY {candidates_order}" if candidates_order else ""
    return f"""
WITH named AS MATERIALIZED ({named}),
candidates AS MATERIALIZED (
    SELECT p.* FROM search_listing p WHERE {where} {order} LIMIT %(candidate_limit)s
),
matched AS MATERIALIZED (
    SELECT p.product_id AS id, p.category_id, p.price, p.created_at, {score} AS score,
           {tier} AS tier, {head} AS head
      FROM candidates p
)
SELECT
    (SELECT count(*) FROM matched),
    (SELECT coalesce(json_agg(json_build_array(c.slug, c.name, f.n) ORDER BY f.n DESC, c.name), '[]')
       FROM (SELECT category_id, count(*) AS n FROM matched GROUP BY category_id
              ORDER BY n DESC, category_id LIMIT %(facet_size)s) f
       JOIN catalog_category c ON c.id = f.category_id),
    (SELECT json_build_array({", ".join(price_counts)}) FROM matched p),
    (SELECT coalesce(array_agg(id ORDER BY {order_by}), '{{}}')
       FROM (SELECT id, score, created_at, price, tier, head FROM matched
              ORDER BY {order_by} LIMIT %(limit)s OFFSET %(offset)s) page),
    (SELECT coalesce(json_agg(json_build_array(id, name, slug) ORDER BY ord), '[]') FROM named)
"""


def _browse_sql(*, where: str, score: str, order_by: str, price_counts: list[str]) -> str:
    """Without words: facets from one grouped pass, the page from a top-N scan (no materialized set)."""
    per_category = ", ".join(f"{expr} AS pr{i}" for i, expr in enumerate(price_counts))
    price_sums = ", ".join(f"coalesce(sum(pr{i}), 0)" for i in range(len(price_counts)))
    return f"""
WITH f AS (
    SELECT p.category_id, count(*) AS n, {per_category}
      FROM search_listing p
     WHERE {where}
     GROUP BY p.category_id
)
SELECT
    (SELECT coalesce(sum(n), 0) FROM f),
    (SELECT coalesce(json_agg(json_build_array(c.slug, c.name, t.n) ORDER BY t.n DESC, c.name), '[]')
       FROM (SELECT category_id, n FROM f ORDER BY n DESC, category_id LIMIT %(facet_size)s) t
       JOIN catalog_category c ON c.id = t.category_id),
    (SELECT json_build_array({price_sums}) FROM f),
    (SELECT coalesce(array_agg(id ORDER BY {order_by}), '{{}}')
       FROM (SELECT p.product_id AS id, {score} AS score, p.created_at, p.price
               FROM search_listing p
              WHERE {where}
              ORDER BY {order_by} LIMIT %(limit)s OFFSET %(offset)s) page)
"""


# Active shops the query names: every word of the query is in the shop's name, and the words
# are its first word ("rowan" names Rowan Trading Post) or at least half of its name's words.
# Served by the expression index of migration 0006.
_NAMED_SHOPS_SQL = f"""
    SELECT s.id, s.name, s.slug, row_number() OVER (ORDER BY s.sales_count DESC, s.id) AS ord
      FROM shops_shop s
      CROSS JOIN (SELECT array_agg(t.lexeme) AS lexemes
                    FROM unnest(to_tsvector('etsy_english', %(shop_query)s)) AS t) q
      CROSS JOIN LATERAL (
            SELECT array_agg(t.lexeme) AS lexemes, (array_agg(t.lexeme ORDER BY t.positions[1]))[1] AS first
              FROM unnest(to_tsvector('etsy_english', s.name)) AS t
      ) n
     WHERE s.is_active
       AND to_tsvector('etsy_english'::regconfig, s.name) @@ plainto_tsquery('etsy_english', %(shop_query)s)
       AND (n.first = ANY (q.lexemes) OR 2 * cardinality(q.lexemes) >= cardinality(n.lexemes))
     ORDER BY ord
     LIMIT {NAMED_SHOPS_LIMIT}
"""
_NO_SHOPS_SQL = "SELECT NULL::bigint AS id, NULL::text AS name, NULL::text AS slug, 0 AS ord WHERE false"


def _empty_price_ranges() -> list[PriceRangeFacet]:
    return [PriceRangeFacet(key=k, label=label, min=lo, max=hi, count=0) for k, label, lo, hi in PRICE_RANGES]


def refresh_vocabulary() -> None:
    """Rebuild the spelling-correction vocabulary from the searchable listings."""
    with connections[router.db_for_read(Category)].cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY search_vocabulary")


# Words of the vocabulary starting with the typed letters, one per stem (its most used spelling),
# most used stems first: a search for a word matches every listing using its stem.
# Stop words (no stem) are left out. Migration 0005 indexes ``word`` for this prefix lookup.
_COMPLETE_SQL = r"""
SELECT (array_agg(word ORDER BY ndoc DESC, word))[1] AS word, sum(ndoc) AS listings
  FROM search_vocabulary
 WHERE word LIKE %s ESCAPE '\' AND lexeme IS NOT NULL
 GROUP BY lexeme
 ORDER BY listings DESC, word
 LIMIT %s
"""


def _like_prefix(text: str) -> str:
    """Return a LIKE pattern matching values that start with ``text`` literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


TYPO_SHARE = 3  # a word one edit from a word used this many times more often is taken for its misspelling
TYPO_MIN_LENGTH = 5  # shorter words one edit apart are usually different words ("mud", "mug")


def complete_word(*, prefix: str, limit: int) -> list[str]:
    """Return up to ``limit`` indexed words starting with ``prefix``, those of the most listings first.

    Sellers' misspellings are indexed too (so "walet" finds its listing), but are not
    offered: a word of five letters or more one edit away from a word used by at least
    three times as many listings ("walet", "wallet") is left out.
    """
    with connections[router.db_for_read(Category)].cursor() as cursor:
        cursor.execute(_COMPLETE_SQL, [_like_prefix(prefix), limit * 3])
        rows = cursor.fetchall()
    kept: list[tuple[str, int]] = []
    for word, listings in rows:
        if len(word) < TYPO_MIN_LENGTH or not any(
            count >= TYPO_SHARE * listings and _one_edit_apart(word, other) for other, count in kept
        ):
            kept.append((word, listings))
    return [word for word, _ in kept[:limit]]


def _one_edit_apart(a: str, b: str) -> bool:
    """Return whether one insertion, deletion, substitution or swap of neighbours turns ``a`` into ``b``."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    return a[i + 1 :] == b[i + 1 :] or (
        a[i + 1 : i + 2] == b[i : i + 1] and a[i : i + 1] == b[i + 1 : i + 2] and a[i + 2 :] == b[i + 2 :]
    )
