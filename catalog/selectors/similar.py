"""Similar items: listings like one listing, spread across shops."""

from __future__ import annotations

from django.db.models import Case, When

from catalog.models import Product
from catalog.selectors.feed import _trending_ids
from catalog.selectors.products import list_products_by_ids
from etsy import cache

SIMILAR_PER_SHOP = 2
SIMILAR_SPARE = 4  # candidates beyond the limit, for pieces sold since the list was cached


def list_similar_products(*, product: Product, limit: int = 8, same_shop_first: bool = False) -> list[Product]:
    """Return in-stock listings like ``product``: same category, shared tags first, spread across shops.

    With ``same_shop_first`` (a sold listing) the maker's own similar pieces come first.
    """
    candidates = cache.cache_aside(
        cache.similar_key(product.pk),
        lambda: _fetch_candidates(product, limit=limit),
        ttl=cache.TTL["similar"],
        cache_type="similar",
    )
    chosen = choose_similar_ids(product, candidates, limit=limit, same_shop_first=same_shop_first)
    return [p for p in list_products_by_ids(product_ids=chosen) if p.quantity > 0][:limit]


def list_similar_candidates(*, products: list[Product], limit: int = 8) -> dict[int, tuple[list[int], dict[int, int]]]:
    """Return each product's similar candidates (ids and their shops) as :func:`list_similar_products` reads them:
    the cached lists in one read, the missing ones built and stored."""
    by_id = {p.pk: p for p in products}
    return cache.cache_aside_many(
        by_id,
        key=cache.similar_key,
        fetch=lambda missing: {pk: _fetch_candidates(by_id[pk], limit=limit) for pk in missing},
        ttl=cache.TTL["similar"],
        cache_type="similar",
    )


def _fetch_candidates(product: Product, *, limit: int) -> tuple[list[int], dict[int, int]]:
    # Cheap on a large catalog: the maker's own pieces (shop index), then the category's
    # trending pool (cached 15 minutes) ranked by shared tags; no sort over a whole category.
    base = Product.objects.purchasable().exclude(pk=product.pk)
    same_category_first = Case(When(category_id=product.category_id, then=0), default=1)
    own = list(
        base.filter(shop_id=product.shop_id)
        .order_by(same_category_first, "-favorite_count", "-id")
        .values_list("id", "shop_id")[:4]
    )
    pool = _trending_ids(product.category_id)
    if len(pool) < limit * 2 and product.category.parent_id:
        pool = pool + [i for i in _trending_ids(product.category.parent_id) if i not in pool]
    tags = set(product.tags or [])
    rows = {pid: (sid, ptags) for pid, sid, ptags in base.filter(pk__in=pool).values_list("id", "shop_id", "tags")}
    order = {pid: n for n, pid in enumerate(pool)}
    ranked = sorted(rows, key=lambda pid: (-len(tags & set(rows[pid][1] or [])), order[pid]))
    candidates = own + [(pid, rows[pid][0]) for pid in ranked if pid not in dict(own)]
    return [pid for pid, _ in candidates], {pid: sid for pid, sid in candidates}


def choose_similar_ids(
    product: Product, candidates: tuple[list[int], dict[int, int]], *, limit: int = 8, same_shop_first: bool = False
) -> list[int]:
    """The ids whose cards the page shows, in order, from ``candidates``: the first ``limit`` of them in stock."""
    ids, shops = candidates
    own = [i for i in ids if shops[i] == product.shop_id]
    others = [i for i in ids if shops[i] != product.shop_id]
    # A few spare candidates: the ids are kept 15 minutes, and a piece sold since is left out
    # (the cards come from the product cache, which a sale clears).
    wanted = limit + SIMILAR_SPARE
    chosen: list[int] = []
    if same_shop_first:
        chosen.extend(own[: limit // 2])
    per_shop: dict[int, int] = {}
    for pid in others:
        if len(chosen) >= wanted:
            break
        if per_shop.get(shops[pid], 0) < SIMILAR_PER_SHOP:
            per_shop[shops[pid]] = per_shop.get(shops[pid], 0) + 1
            chosen.append(pid)
    for pid in own + others:  # fill up when few shops sell this kind of thing
        if len(chosen) >= wanted:
            break
        if pid not in chosen:
            chosen.append(pid)
    return chosen
