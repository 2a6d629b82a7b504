"""Answer a search from ``search_listing``: plan the query, run its statement, read the answer."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from django.db import connections, router, transaction

from catalog.models import Category
from search.analysis import analyze
from search.backends import BackendResult
from search.backends.postgres.counts import browse_counts_sql, counts_price_bound
from search.backends.postgres.plan import IN_NAMED_SHOP, NAMED_SHOPS_SQL, NO_SHOPS_SQL, Plan, make_plan, match_sql
from search.backends.postgres.scoring import BOOST_SQL, EXACT_WORDS_WEIGHT, NAMED_SHOP_RANK, TS_WEIGHTS
from search.backends.postgres.statements import broad_page_sql, browse_live_counts_sql, browse_page_sql, search_sql
from search.backends.postgres.variations import option_counts_sql, option_filter_sql, price_sql
from search.options import build_option_facets
from search.types import PRICE_RANGES, CategoryFacet, PriceRangeFacet, SearchParams, ShopMatch, price_window

CATEGORY_FACET_SIZE = 20

# Counts and facets are exact up to CANDIDATE_LIMIT matches; past it the total reads "2,000+"
# (``total_is_capped``) and the facets, read from the first CANDIDATE_LIMIT found, show no counts.
# Every listing counted is read from the table: at 1M listings, 2,000 instead of 10,000 took the
# judged queries' p95 down by a further ~30 % (search/README.md), relevance unchanged.
CANDIDATE_LIMIT = 2_000
# At most this many matches are scored (``ts_rank`` reads each one's text): the newest (recency is
# part of the ranking), the first by the sort asked for, or every full match of a relaxed query
# first. Below it every match is ranked, so small catalogs and narrow queries rank exactly.
RANK_LIMIT = 300
# A broad query's candidates: the listings found (in table order) and the matches among this many
# newest listings (recency is part of the ranking).
RECENT_LIMIT = 3_000
# The age of the RECENT_LIMIT-th newest listing (an index-only scan of the created_at index): the
# statement asks for the matches at least that new, which the text index (that also holds each
# listing's age, migration 0014) answers in one scan.
RECENT_SINCE_SQL = "SELECT created_at FROM search_listing ORDER BY created_at DESC OFFSET %(recent_offset)s LIMIT 1"
# The planner's cost of a random page read for the search statements (SET LOCAL; PostgreSQL's default
# is 4, for spinning disks). The table and its indexes are read from memory: at 4, a query matching a
# few percent of 1M listings counted by reading the table in order until 2,000 matched (choker: 58,000
# rows, 11,000 pages, 78 ms) instead of through the text index; at 1.1 it uses the index.
# The connections run at 1.1 too (DB_RANDOM_PAGE_COST); the search statements keep theirs whatever that is.
RANDOM_PAGE_COST = "1.1"
# Browsing without words ranks (by the boosts) the newest this many listings of its filter.
BROWSE_CANDIDATES = 3_000
IN_CATEGORY = "p.category_id IN (SELECT c.id FROM catalog_category c WHERE c.path LIKE %(category_path)s)"
# A broad query sorted by age or price reads its page from an index in this order.
_CANDIDATES_ORDER = {
    "newest": "p.created_at DESC, p.product_id DESC",
    "price_asc": "p.price ASC, p.product_id ASC",
    "price_desc": "p.price DESC, p.product_id DESC",
}
# Which found listings are ranked when more than RANK_LIMIT match (tier and head: relaxed queries).
_PICK_ORDER = {
    "relevance": "tier DESC, head DESC, created_at DESC, id DESC",
    "newest": "tier DESC, created_at DESC, id DESC",
    "price_asc": "tier DESC, price ASC, id ASC",
    "price_desc": "tier DESC, price DESC, id DESC",
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
    plan = make_plan(analyzed)
    # One transaction: the prelude's SET LOCAL holds for the search statements that follow it.
    with transaction.atomic(using=router.db_for_read(Category), savepoint=False):
        recent_since, names_shop = _prelude(plan)
        if not names_shop:
            # No shop condition beside the words: the text and age index then answers the newest matches.
            plan = replace(plan, shop_query="")
        result = _run(params=params, category=category, plan=plan, relaxed=False, recent_since=recent_since)
        if result.total < params.per_page and plan.can_relax:
            exact_total = result.total
            result = _run(params=params, category=category, plan=plan, relaxed=True, recent_since=recent_since)
            result.exact_total = exact_total
    # "Did you mean" only when the corrected words find something (the analysis offers a
    # correction only when it is used by more listings than the words typed).
    result.suggestion = analyzed.suggestion if result.total else None
    result.offers_vintage_filter = plan.vintage is not None and params.vintage is None
    return result


def _prelude(plan: Plan) -> tuple[datetime, bool]:
    """Return the age of the ``RECENT_LIMIT``-th newest listing and whether the query names an active shop,
    and set ``RANDOM_PAGE_COST`` for the rest of the transaction."""
    sql_params: dict[str, object] = {
        "recent_offset": RECENT_LIMIT - 1,
        "shop_query": plan.shop_query,
        "random_page_cost": RANDOM_PAGE_COST,
    }
    named = f"EXISTS ({NAMED_SHOPS_SQL})" if plan.shop_query else "false"
    with _cursor() as cursor:
        cursor.execute(
            f"SELECT ({RECENT_SINCE_SQL}), {named}, set_config('random_page_cost', %(random_page_cost)s, true)",
            sql_params,
        )
        since, names_shop, _ = cursor.fetchone()
    # Fewer listings than RECENT_LIMIT: every one is among the newest.
    return since or datetime.min.replace(tzinfo=UTC), names_shop


def _run(
    *,
    params: SearchParams,
    category: Category | None,
    plan: Plan | None,
    relaxed: bool,
    recent_since: datetime | None = None,
) -> BackendResult:
    """One statement of a search (``recent_since`` from ``_prelude``), or a browse (no ``plan``)."""
    sql_params: dict[str, object] = {}
    where = ["true"]  # search_listing holds only buyable listings (active, in stock, active shop)
    tier = head = "0"
    if plan is not None:
        match, tier, head = match_sql(plan, relaxed=relaxed, sql_params=sql_params)
        where.append(match)
        # One rank per concept, summed: a listing with every concept in its title beats one that
        # has a single concept there, however many synonyms a concept expands to.
        ranked = [*plan.required, *([plan.vintage] if plan.vintage else []), *plan.optional]
        terms = []
        for i, group in enumerate(ranked):
            sql_params[f"r{i}"] = group.tsquery_text()
            terms.append(f"ts_rank({TS_WEIGHTS}, p.search_vector, %(r{i})s::tsquery)")
        text_rank = " + ".join(terms) or "0"
        if plan.analyzed.exact_words:
            sql_params["exact_words"] = plan.analyzed.exact_words
            text_rank += f" + {EXACT_WORDS_WEIGHT} * ts_rank({TS_WEIGHTS}, p.search_vector, %(exact_words)s::tsquery)"
        if plan.shop_query:
            text_rank += f" + {NAMED_SHOP_RANK} * ({IN_NAMED_SHOP})::int"
            sql_params["shop_query"] = plan.shop_query
        score = f"({text_rank}) * {BOOST_SQL}"
    else:
        score = BOOST_SQL
    if params.sort != "relevance":
        score = "0"
    if category is not None:
        where.append(IN_CATEGORY)
        sql_params["category_path"] = category.path + "%"
    window = price_window(params)
    if window is not None:  # one of the listing's offerings in stock is within it
        where.append(price_sql(window, sql_params=sql_params, name="price"))
    if params.vintage is not None:
        where.append("p.is_vintage = %(vintage)s")
        sql_params["vintage"] = params.vintage
    if params.shop_id is not None:
        where.append("p.shop_id = %(shop_id)s")
        sql_params["shop_id"] = params.shop_id

    chosen = params.chosen_options
    option_filter = option_filter_sql(chosen, sql_params=sql_params)
    if option_filter is not None:
        where.append(option_filter)

    # The same condition as the price filter above, for each facet's half-open interval.
    price_counts = [
        f"count(*) FILTER (WHERE {price_sql((low, high, False), sql_params=sql_params, name=f'pr{i}')})"
        for i, (_key, _label, low, high) in enumerate(PRICE_RANGES)
    ]
    sql_params["limit"] = params.per_page
    sql_params["offset"] = (params.page - 1) * params.per_page
    sql_params["facet_size"] = CATEGORY_FACET_SIZE

    if plan is None:
        return _browse(
            params=params,
            category=category,
            where=where,
            score=score,
            price_counts=price_counts,
            sql_params=sql_params,
            chosen=chosen,
        )

    named = NAMED_SHOPS_SQL if plan.shop_query else NO_SHOPS_SQL
    sql_params["count_limit"] = CANDIDATE_LIMIT + 1  # one more tells there are more
    sql_params["candidate_limit"] = CANDIDATE_LIMIT
    sql_params["recent_since"] = recent_since
    # A page past the first RANK_LIMIT listings (sorted by price, say) ranks as many as it needs.
    sql_params["rank_limit"] = max(RANK_LIMIT, params.page * params.per_page)
    also = None
    if relaxed:  # a broad relaxed query ranks its full matches (fewer than a page) whatever their age
        exact, _, _ = match_sql(plan, relaxed=False, sql_params=sql_params, prefix="exact_")
        also = " AND ".join([*where[:1], exact, *where[2:]])
    sql = search_sql(
        named=named,
        where=" AND ".join(where),
        also=also,
        score=score,
        tier=tier,
        # The head concept orders relaxed matches before they are ranked; full matches all have it.
        pick_head=head if relaxed else "0",
        head=head,
        pick_order=_PICK_ORDER[params.sort],
        order_by=_ORDER_BY[params.sort],
        price_counts=price_counts,
        option_counts=option_counts_sql(chosen, rows="counted p", sql_params=sql_params),
    )
    result = _fetch(sql, sql_params, chosen=chosen)
    if result.total <= CANDIDATE_LIMIT:
        return result
    # A broad query: "10,000+" and the facets of the first 10,000 found.
    result.total = CANDIDATE_LIMIT
    result.total_is_capped = True
    if params.sort == "relevance":
        return result
    # Sorted by price or age, the page is read in that index order instead: exact, however many match.
    sql_params["rank_limit"] = params.page * params.per_page
    sql = broad_page_sql(
        named=named,
        where=" AND ".join(where),
        also=also,
        score=score,
        tier=tier,
        head=head,
        candidates_order=_CANDIDATES_ORDER[params.sort],
        order_by=_ORDER_BY[params.sort],
    )
    result.ids = _fetch_ids(sql, sql_params)
    return result


def _browse(
    *,
    params: SearchParams,
    category: Category | None,
    where: list[str],
    score: str,
    price_counts: list[str],
    sql_params: dict[str, object],
    chosen: dict[str, str],
) -> BackendResult:
    """Listings without words: the page from the newest candidates (or an index order), the counts from
    the materialised per-category counts when every filter is one they answer, else counted live.

    The materialised counts answer the category, vintage and no price, shop or option filter; their price
    facet places a listing by its lowest ("from") price, where the live count places a listing whose
    offerings differ in price in every range one of them is in. The option facets are always counted live,
    over the listings that have options (few: most listings are plain)."""
    # Ranked by the boosts alone, a browse ranks the newest BROWSE_CANDIDATES of its filter (read in
    # index order) instead of scoring every listing; sorted by age or price the page is read in order.
    relevance = params.sort == "relevance"
    window = params.page * params.per_page
    sql_params["browse_candidates"] = max(BROWSE_CANDIDATES, window) if relevance else window
    where_sql = " AND ".join(where)
    page = browse_page_sql(
        where=" AND ".join(clause for clause in where if clause != IN_CATEGORY),
        score=score,
        order_by=_BROWSE_ORDER_BY[params.sort],
        read_order=_CANDIDATES_ORDER["newest" if relevance else params.sort],
        per_category=category is not None,
    )
    ranges = [bound for _key, _label, low, high in PRICE_RANGES for bound in (low, high)]
    price_fix = None
    if (
        price_window(params) is None
        and params.shop_id is None
        and not chosen
        and all(counts_price_bound(bound) for bound in ranges)
    ):
        count_where = ["true"]
        if category is not None:
            count_where.append(
                "c.category_id IN (SELECT k.id FROM catalog_category k WHERE k.path LIKE %(category_path)s)"
            )
        if params.vintage is not None:
            count_where.append("c.is_vintage = %(vintage)s")
        conditions = [
            " AND ".join(
                [f"price_dollars >= %(pr{i}_low)s"] * (low is not None)
                + [f"price_dollars < %(pr{i}_high)s"] * (high is not None)
            )
            or "true"
            for i, (_key, _label, low, high) in enumerate(PRICE_RANGES)
        ]
        counts = browse_counts_sql(where=" AND ".join(count_where), price_counts=conditions)
        # The counts place each listing by its "from" price; a listing whose offerings differ in price is in
        # every range one of them is in: the few such listings are counted live and the difference added.
        from_price = [
            " AND ".join(
                [f"p.price >= %(pr{i}_low)s"] * (low is not None) + [f"p.price < %(pr{i}_high)s"] * (high is not None)
            )
            or "true"
            for i, (_key, _label, low, high) in enumerate(PRICE_RANGES)
        ]
        differences = ", ".join(
            f"({live}) - count(*) FILTER (WHERE {cond})" for live, cond in zip(price_counts, from_price, strict=True)
        )
        price_fix = (
            f"SELECT json_build_array({differences}) FROM search_listing p"
            f" WHERE {where_sql} AND p.offer_prices IS NOT NULL"
        )
    else:
        counts = browse_live_counts_sql(where=where_sql, price_counts=price_counts)
    option_counts = "SELECT " + option_counts_sql(
        chosen,
        rows=f"(SELECT p.options FROM search_listing p WHERE {where_sql} AND p.options IS NOT NULL) p",
        sql_params=sql_params,
    )
    with _cursor() as cursor:
        cursor.execute(counts, sql_params)
        total, categories, prices = cursor.fetchone()
        if price_fix:
            cursor.execute(price_fix, sql_params)
            fix = cursor.fetchone()[0]
            prices = json.loads(prices) if isinstance(prices, str) else prices
            fix = json.loads(fix) if isinstance(fix, str) else fix
            prices = [int(n) + int(d) for n, d in zip(prices, fix, strict=True)]
        cursor.execute(page, sql_params)
        ids = cursor.fetchone()[0]
        cursor.execute(option_counts, sql_params)
        options = cursor.fetchone()[0]
    return _result(
        total=total, categories=categories, prices=prices, ids=ids, options=options, shops=None, chosen=chosen
    )


def _cursor():
    return connections[router.db_for_read(Category)].cursor()


def _fetch_ids(sql: str, sql_params: dict[str, object]) -> list[int]:
    with _cursor() as cursor:
        cursor.execute(sql, sql_params)
        return list(cursor.fetchone()[0])


def _fetch(sql: str, sql_params: dict[str, object], *, chosen: dict[str, str]) -> BackendResult:
    with _cursor() as cursor:
        cursor.execute(sql, sql_params)
        total, categories, prices, ids, options, *shops = cursor.fetchone()
    return _result(
        total=total,
        categories=categories,
        prices=prices,
        ids=ids,
        options=options,
        shops=shops[0] if shops else None,
        chosen=chosen,
    )


def _result(*, total, categories, prices, ids, options, shops, chosen: dict[str, str]) -> BackendResult:
    categories = json.loads(categories) if isinstance(categories, str) else categories
    prices = json.loads(prices) if isinstance(prices, str) else prices
    options = json.loads(options) if isinstance(options, str) else options
    shops = json.loads(shops) if isinstance(shops, str) else shops
    return BackendResult(
        shops=[ShopMatch(id=int(i), name=name, slug=slug) for i, name, slug in shops or ()],
        ids=list(ids),
        total=int(total),
        categories=[CategoryFacet(slug=slug, name=name, count=int(n)) for slug, name, n in categories],
        price_ranges=[
            PriceRangeFacet(key=key, label=label, min=low, max=high, count=int(n))
            for (key, label, low, high), n in zip(PRICE_RANGES, prices, strict=True)
        ],
        options=build_option_facets(options, chosen=chosen, total=int(total)),
    )


def _empty_price_ranges() -> list[PriceRangeFacet]:
    return [PriceRangeFacet(key=k, label=label, min=lo, max=hi, count=0) for k, label, lo, hi in PRICE_RANGES]
