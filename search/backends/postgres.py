"""PostgreSQL full-text search: the default backend and the fallback behind Elasticsearch.

One SQL statement answers a search: the matching listings are scored once (text
rank x the shared boosts of ``search.ranking``) and the page, the total and both
facets are read from that set. Every value from the shopper is a bind parameter;
the statement's shape depends only on how many term groups the query has.
"""

from __future__ import annotations

import json

from django.db import connection

from catalog.models import Category
from search import ranking
from search.analysis import AnalyzedQuery, analyze
from search.backends import BackendResult
from search.types import PRICE_RANGES, CategoryFacet, PriceRangeFacet, SearchParams

CATEGORY_FACET_SIZE = 20

_ORDER_BY = {
    "relevance": "score DESC, created_at DESC, id DESC",
    "newest": "created_at DESC, id DESC",
    "price_asc": "price ASC, id ASC",
    "price_desc": "price DESC, id DESC",
}

_BOOST_SQL = (
    "(1 + {rw} * sqrt({rf} * coalesce(s.rating, {rm}))"
    " + {sw} * ln(1 + {sf} * coalesce(s.sales_count, {sm}))"
    " + {tw} * power({decay}, power(extract(epoch FROM (now() - p.created_at)) / {scale}, 2)))"
).format(
    rw=float(ranking.RATING_WEIGHT),
    rf=float(ranking.RATING_FACTOR),
    rm=float(ranking.RATING_MISSING),
    sw=float(ranking.SALES_WEIGHT),
    sf=float(ranking.SALES_FACTOR),
    sm=int(ranking.SALES_MISSING),
    tw=float(ranking.RECENCY_WEIGHT),
    decay=float(ranking.RECENCY_DECAY),
    scale=float(ranking.RECENCY_SCALE_DAYS * 86400),
)

_TS_WEIGHTS = "'{%s}'::float4[]" % ",".join(str(float(w)) for w in ranking.TS_RANK_WEIGHTS)


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
    if result.total == 0 and groups >= 3:
        # Nothing matches every concept: accept listings that miss one (e.g. an unknown extra word).
        result = _run(params=params, category=category, analyzed=analyzed, min_groups=groups - 1)
    result.suggestion = analyzed.suggestion
    return result


def _run(
    *, params: SearchParams, category: Category | None, analyzed: AnalyzedQuery | None, min_groups: int
) -> BackendResult:
    sql_params: dict[str, object] = {}
    where = ["p.is_active", "s.is_active", "p.quantity > 0"]
    with_sql = ""
    from_extra = ""
    if analyzed is not None:
        names = []
        for i, group in enumerate(analyzed.groups):
            sql_params[f"g{i}"] = group.tsquery_text()
            names.append(f"g{i}")
        inner = ", ".join(f"to_tsquery('etsy_english', %({n})s) AS {n}" for n in names)
        joiner = " && " if min_groups >= len(names) else " || "
        with_sql = (
            f"WITH q AS MATERIALIZED (SELECT {', '.join(names)}, ({joiner.join(names)}) AS query "
            f"FROM (SELECT {inner}) x), "
        )
        from_extra = " CROSS JOIN q"
        where.append("p.search_vector @@ q.query")
        if min_groups < len(names):
            hits = " + ".join(f"(p.search_vector @@ q.{n})::int" for n in names)
            where.append(f"({hits}) >= %(min_groups)s")
            sql_params["min_groups"] = min_groups
        score = f"ts_rank({_TS_WEIGHTS}, p.search_vector, q.query) * {_BOOST_SQL}"
    else:
        with_sql = "WITH "
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
            conds.append(f"price >= %(pr{i}_low)s")
            sql_params[f"pr{i}_low"] = low
        if high is not None:
            conds.append(f"price < %(pr{i}_high)s")
            sql_params[f"pr{i}_high"] = high
        price_counts.append(f"count(*) FILTER (WHERE {' AND '.join(conds) or 'true'})")
    order_by = _ORDER_BY[params.sort]
    sql_params["limit"] = params.per_page
    sql_params["offset"] = (params.page - 1) * params.per_page
    sql_params["facet_size"] = CATEGORY_FACET_SIZE

    sql = f"""
{with_sql}matched AS MATERIALIZED (
    SELECT p.id, p.category_id, p.price, p.created_at, {score} AS score
      FROM catalog_product p
      JOIN shops_shop s ON s.id = p.shop_id{from_extra}
     WHERE {' AND '.join(where)}
)
SELECT
    (SELECT count(*) FROM matched),
    (SELECT coalesce(json_agg(json_build_array(c.slug, c.name, f.n) ORDER BY f.n DESC, c.name), '[]')
       FROM (SELECT category_id, count(*) AS n FROM matched GROUP BY category_id
              ORDER BY n DESC, category_id LIMIT %(facet_size)s) f
       JOIN catalog_category c ON c.id = f.category_id),
    (SELECT json_build_array({', '.join(price_counts)}) FROM matched),
    (SELECT coalesce(array_agg(id ORDER BY {order_by}), '{{}}')
       FROM (SELECT id, score, created_at, price FROM matched
              ORDER BY {order_by} LIMIT %(limit)s OFFSET %(offset)s) page)
"""
    with connection.cursor() as cursor:
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


def _empty_price_ranges() -> list[PriceRangeFacet]:
    return [PriceRangeFacet(key=k, label=label, min=lo, max=hi, count=0) for k, label, lo, hi in PRICE_RANGES]


def refresh_vocabulary() -> None:
    """Rebuild the spelling-correction vocabulary from the searchable listings."""
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY search_vocabulary")

