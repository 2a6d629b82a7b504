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

from django.db import connections, router

from catalog.models import Category
from search import ranking
from search.analysis import AnalyzedQuery, analyze
from search.backends import BackendResult
from search.types import PRICE_RANGES, CategoryFacet, PriceRangeFacet, SearchParams

CATEGORY_FACET_SIZE = 20
# With fewer full matches than this, a query of three or more concepts also shows listings missing one.
RELAX_BELOW = 10
# Bonus (relative to one concept) for using the shopper's own words rather than a synonym.
EXACT_WORDS_WEIGHT = 0.5

_ORDER_BY = {
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

_TS_WEIGHTS = "'{{{}}}'::float4[]".format(",".join(str(float(w)) for w in ranking.TS_RANK_WEIGHTS))


def search(*, params: SearchParams, category: Category | None) -> BackendResult:
    """Search listings in stock; ``category`` (already resolved) includes its subcategories."""
    q = params.q.strip()
    if not q:
        return _run(params=params, category=category, analyzed=None, min_groups=0)
    analyzed = analyze(q)
    if analyzed.is_empty:
        return BackendResult(ids=[], total=0, price_ranges=_empty_price_ranges(), suggestion=analyzed.suggestion)
    groups = len(analyzed.groups)
    result = _run(params=params, category=category, analyzed=analyzed, min_groups=groups)
    if result.total < RELAX_BELOW and groups >= 3:
        # Few listings match every concept: add those that miss one (an unknown extra word, a colour
        # nobody has), ranked after every full match.
        result = _run(params=params, category=category, analyzed=analyzed, min_groups=groups - 1)
    # "Did you mean" only when the corrected words find something.
    result.suggestion = analyzed.suggestion if result.total else None
    return result


def _run(
    *, params: SearchParams, category: Category | None, analyzed: AnalyzedQuery | None, min_groups: int
) -> BackendResult:
    sql_params: dict[str, object] = {}
    where = ["true"]  # search_listing holds only buyable listings (active, in stock, active shop)
    if analyzed is not None:
        # Group queries arrive stemmed (tsquery text built from [^\W_]+ lexemes) as typed
        # parameters: the planner sees constants, and nothing is re-parsed per row.
        terms = []
        texts = []
        for i, group in enumerate(analyzed.groups):
            sql_params[f"g{i}"] = group.tsquery_text()
            terms.append(f"%(g{i})s::tsquery")
            texts.append(f"({group.tsquery_text()})")
        if min_groups >= len(texts):
            match = " & ".join(texts)
        else:
            # Every way of leaving one concept out, so the GIN index still intersects posting lists.
            match = " | ".join(
                "(" + " & ".join(t for j, t in enumerate(texts) if j != skip) + ")" for skip in range(len(texts))
            )
        sql_params["match"] = match
        where.append("p.search_vector @@ %(match)s::tsquery")
        # One rank per concept, summed: a listing with every concept in its title beats one that
        # has a single concept there, however many synonyms a concept expands to.
        text_rank = " + ".join(f"ts_rank({_TS_WEIGHTS}, p.search_vector, {t})" for t in terms)
        if analyzed.exact_words:
            sql_params["exact_words"] = analyzed.exact_words
            text_rank += f" + {EXACT_WORDS_WEIGHT} * ts_rank({_TS_WEIGHTS}, p.search_vector, %(exact_words)s::tsquery)"
        score = f"({text_rank}) * {_BOOST_SQL}"
        if min_groups < len(terms):
            # Listings matching every concept first (a text score x boost stays far below 1000).
            coverage = " + ".join(f"(p.search_vector @@ {t})::int" for t in terms)
            score = f"({coverage}) * 1000.0 + {score}"
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
    if params.vintage is not None:
        where.append("p.is_vintage = %(vintage)s")
        sql_params["vintage"] = params.vintage
    if params.shop_id is not None:
        where.append("p.shop_id = %(shop_id)s")
        sql_params["shop_id"] = params.shop_id

    price_counts = []
    for i, (_key, _label, low, high) in enumerate(PRICE_RANGES):
        conds = []
        if low is not None:
            conds.append(f"p.price >= %(pr{i}_low)s")
            sql_params[f"pr{i}_low"] = low
        if high is not None:
            conds.append(f"p.price < %(pr{i}_high)s")
            sql_params[f"pr{i}_high"] = high
        price_counts.append(f"count(*) FILTER (WHERE {' AND '.join(conds) or 'true'})")
    order_by = _ORDER_BY[params.sort]
    sql_params["limit"] = params.per_page
    sql_params["offset"] = (params.page - 1) * params.per_page
    sql_params["facet_size"] = CATEGORY_FACET_SIZE

    if analyzed is None:
        sql = _browse_sql(where=" AND ".join(where), score=score, order_by=order_by, price_counts=price_counts)
    else:
        sql = _search_sql(where=" AND ".join(where), score=score, order_by=order_by, price_counts=price_counts)
    with connections[router.db_for_read(Category)].cursor() as cursor:
        cursor.execute(sql, sql_params)
        total, categories, prices, ids = cursor.fetchone()
    categories = json.loads(categories) if isinstance(categories, str) else categories
    prices = json.loads(prices) if isinstance(prices, str) else prices
    return BackendResult(
        ids=list(ids),
        total=int(total),
        categories=[CategoryFacet(slug=slug, name=name, count=int(n)) for slug, name, n in categories],
        price_ranges=[
            PriceRangeFacet(key=key, label=label, min=low, max=high, count=int(n))
            for (key, label, low, high), n in zip(PRICE_RANGES, prices, strict=True)
        ],
    )


def _search_sql(*, where: str, score: str, order_by: str, price_counts: list[str]) -> str:
    """Score the matches once; read the total, facets and the page from that set."""
    return f"""
WITH matched AS MATERIALIZED (
    SELECT p.product_id AS id, p.category_id, p.price, p.created_at, {score} AS score
      FROM search_listing p
     WHERE {where}
)
SELECT
    (SELECT count(*) FROM matched),
    (SELECT coalesce(json_agg(json_build_array(c.slug, c.name, f.n) ORDER BY f.n DESC, c.name), '[]')
       FROM (SELECT category_id, count(*) AS n FROM matched GROUP BY category_id
              ORDER BY n DESC, category_id LIMIT %(facet_size)s) f
       JOIN catalog_category c ON c.id = f.category_id),
    (SELECT json_build_array({", ".join(price_counts)}) FROM matched p),
    (SELECT coalesce(array_agg(id ORDER BY {order_by}), '{{}}')
       FROM (SELECT id, score, created_at, price FROM matched
              ORDER BY {order_by} LIMIT %(limit)s OFFSET %(offset)s) page)
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
