"""The SQL statements of a search: one statement reads the total, both facets and the page."""

from __future__ import annotations


def search_sql(
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


def browse_sql(*, where: str, score: str, order_by: str, price_counts: list[str]) -> str:
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
