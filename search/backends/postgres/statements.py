"""The SQL statements of a search: one statement reads the total, both facets and the page."""

from __future__ import annotations


def search_sql(
    *,
    named: str,
    where: str,
    also: str | None,
    score: str,
    tier: str,
    pick_head: str,
    head: str,
    pick_order: str,
    order_by: str,
    price_counts: list[str],
    option_counts: str,
) -> str:
    """Find the matches (at most ``count_limit``), rank the best ``rank_limit`` of them, read the answer.

    ``found`` reads the filter columns of the matches, never their text (the text index answers
    the match): the total and both facets come from it, exact when there are fewer than
    ``count_limit``. The first ``rank_limit`` by ``pick_order`` (recency, or the sort asked for)
    are scored with ``ts_rank`` and the page is read from those.

    A broad query (``count_limit`` found) picks its candidates from the listings found and from
    the matches among the newest listings (``created_at >= recent_since``, the age of the
    ``RECENT_LIMIT``-th newest: the text index holds the age too, so one index scan intersects the
    two and only those matches are read), plus ``also`` (the full matches of a relaxed query).
    """
    also_sql = (
        f"""
    UNION
    (SELECT p.product_id AS id, p.price, p.created_at, {tier} AS tier, {pick_head} AS head
       FROM search_listing p
      WHERE (SELECT broad FROM capped) AND {also}
      ORDER BY {pick_order} LIMIT %(rank_limit)s)"""
        if also
        else ""
    )
    return f"""
WITH named AS MATERIALIZED ({named}),
found AS MATERIALIZED (
    SELECT p.product_id AS id, p.category_id, p.price, p.created_at, {tier} AS tier, {pick_head} AS head,
           p.offer_prices, p.options
      FROM search_listing p
     WHERE {where}
     LIMIT %(count_limit)s
),
capped AS MATERIALIZED (SELECT count(*) >= %(count_limit)s AS broad FROM found),
-- The best rank_limit of each source, then of their union: the same listings as ordering the whole
-- union, without hashing every listing found.
picked AS MATERIALIZED (
    SELECT id, price, created_at, tier FROM (
        (SELECT id, price, created_at, tier, head FROM found ORDER BY {pick_order} LIMIT %(rank_limit)s)
        UNION
        (SELECT p.product_id AS id, p.price, p.created_at, {tier} AS tier, {pick_head} AS head
           FROM search_listing p
          WHERE (SELECT broad FROM capped) AND p.created_at >= %(recent_since)s AND {where}
          ORDER BY {pick_order} LIMIT %(rank_limit)s){also_sql}
    ) pool
    ORDER BY {pick_order} LIMIT %(rank_limit)s
),
ranked AS MATERIALIZED (
    SELECT f.id, f.price, f.created_at, f.tier, {head} AS head, {score} AS score
      FROM picked f JOIN search_listing p ON p.product_id = f.id
),
counted AS (SELECT * FROM found LIMIT %(candidate_limit)s)
SELECT
    (SELECT count(*) FROM found),
    (SELECT coalesce(json_agg(json_build_array(c.slug, c.name, f.n) ORDER BY f.n DESC, c.name), '[]')
       FROM (SELECT category_id, count(*) AS n FROM counted GROUP BY category_id
              ORDER BY n DESC, category_id LIMIT %(facet_size)s) f
       JOIN catalog_category c ON c.id = f.category_id),
    (SELECT json_build_array({", ".join(price_counts)}) FROM counted p),
    (SELECT coalesce(array_agg(id ORDER BY {order_by}), '{{}}')
       FROM (SELECT id, score, created_at, price, tier, head FROM ranked
              ORDER BY {order_by} LIMIT %(limit)s OFFSET %(offset)s) page),
    {option_counts},
    (SELECT coalesce(json_agg(json_build_array(id, name, slug) ORDER BY ord), '[]') FROM named)
"""


def broad_page_sql(
    *, named: str, where: str, also: str | None, score: str, tier: str, head: str, candidates_order: str, order_by: str
) -> str:
    """The page of a broad query sorted by price or age: the first matches in that order, read from its index.

    ``candidates_order`` is one an index serves, so the scan stops after ``rank_limit``
    (the page's end) matches however many there are: the page is exact. ``also`` adds listings
    that must come first whatever their price or age (the full matches of a relaxed query).
    """
    union = f"UNION SELECT p.product_id FROM search_listing p WHERE {also}" if also else ""
    return f"""
WITH named AS MATERIALIZED ({named}),
picked AS MATERIALIZED (
    (SELECT p.product_id AS id FROM search_listing p WHERE {where} ORDER BY {candidates_order} LIMIT %(rank_limit)s)
    {union}
),
ranked AS MATERIALIZED (
    SELECT p.product_id AS id, p.price, p.created_at, {tier} AS tier, {head} AS head, {score} AS score
      FROM picked f JOIN search_listing p ON p.product_id = f.id
)
SELECT coalesce(array_agg(id ORDER BY {order_by}), '{{}}')
  FROM (SELECT id, score, created_at, price, tier, head FROM ranked
         ORDER BY {order_by} LIMIT %(limit)s OFFSET %(offset)s) page
"""


def browse_live_counts_sql(*, where: str, price_counts: list[str]) -> str:
    """The total and facets of a browse the materialised counts cannot answer, from one grouped pass."""
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
    (SELECT json_build_array({price_sums}) FROM f)
"""


def browse_page_sql(*, where: str, score: str, order_by: str, read_order: str, per_category: bool) -> str:
    """The page of a browse, from the first ``browse_candidates`` listings of the filter in ``read_order``
    (an index order: the newest when ranked by ``score``, else the sort asked for, so that page is exact).

    With ``per_category`` (a category filter, given as ``category_path``), each category of the subtree
    reads its own first listings from its (category, order) index and they are merged: the cost follows
    the candidates read, not how much of the catalog lies in other categories.
    """
    if per_category:
        source = f"""(SELECT p.* FROM (SELECT k.id FROM catalog_category k WHERE k.path LIKE %(category_path)s) k
          CROSS JOIN LATERAL (SELECT * FROM search_listing p WHERE p.category_id = k.id AND {where}
                               ORDER BY {read_order} LIMIT %(browse_candidates)s) p
          ORDER BY {read_order} LIMIT %(browse_candidates)s) p"""
    else:
        source = f"""(SELECT * FROM search_listing p WHERE {where}
          ORDER BY {read_order} LIMIT %(browse_candidates)s) p"""
    return f"""
SELECT coalesce(array_agg(id ORDER BY {order_by}), '{{}}')
  FROM (SELECT p.product_id AS id, {score} AS score, p.created_at, p.price
          FROM {source}
         ORDER BY {order_by} LIMIT %(limit)s OFFSET %(offset)s) page
"""
