"""The category tree (cached an hour, one copy per process while Redis names its build) and reads over it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from catalog.exceptions import CategoryNotFound
from catalog.models import Category
from etsy import cache


@dataclass
class CategoryTree:
    roots: list[Category]
    by_slug: dict[str, Category]
    by_id: dict[int, Category]
    build_id: str = ""


def _build_category_tree() -> CategoryTree:
    nodes = list(Category.objects.order_by("position", "name"))
    by_id = {c.pk: c for c in nodes}
    for c in nodes:
        c.tree_children = []
    roots = []
    for c in nodes:
        parent = by_id.get(c.parent_id) if c.parent_id else None
        (parent.tree_children if parent else roots).append(c)
    tree = CategoryTree(roots=roots, by_slug={c.slug: c for c in nodes}, by_id=by_id, build_id=secrets.token_hex(8))
    # Published before the tree itself is stored: a process that sees this id and has no tree
    # of that build reads the tree key (and waits on the build lock if it is not there yet).
    # It outlives the tree (a rebuild replaces it), so an expired id never hides a cached tree.
    cache.set(cache.CATEGORY_TREE_BUILD_KEY, tree.build_id, ttl=2 * cache.TTL["category_tree"])
    return tree


_local_tree: CategoryTree | None = None


def get_category_tree() -> CategoryTree:
    """Return the whole category tree (cached 1 hour; categories change rarely).

    Each process keeps the tree it read last and reuses it while Redis still names the
    same build, instead of reading and unpickling every category, which a category page and
    a product page rebuild each ask for several times. The build id itself is near-cached
    (``etsy.near_cache``): a warm process makes no round trip at all. Invalidation
    (``catalog.receivers.invalidate_categories``) deletes the build id with the tree; Redis
    tells every process, so each reads the new tree on its next call.
    """
    global _local_tree
    if not cache.is_enabled():
        return _build_category_tree()
    local = _local_tree
    if local is not None:
        key = cache.CATEGORY_TREE_BUILD_KEY
        found = cache.read_with([key], near_keys=(key,))
        if found is not None and found.get(key) == local.build_id:
            return local
    tree = cache.cache_aside(
        cache.CATEGORY_TREE_KEY, _build_category_tree, ttl=cache.TTL["category_tree"], cache_type="category"
    )
    _local_tree = tree
    return tree


def list_categories_tree() -> list[Category]:
    """Return the root categories; each node has ``tree_children`` (no further queries)."""
    return get_category_tree().roots


def get_category(*, slug: str) -> Category:
    """Return the category with ``slug``. Raises CategoryNotFound."""
    category = get_category_tree().by_slug.get(slug)
    if category is None:
        # A category added since the tree was cached (its invalidation lost with Redis): rebuild once.
        if not Category.objects.filter(slug=slug).exists():
            raise CategoryNotFound()
        cache.delete(cache.CATEGORY_TREE_KEY, cache.CATEGORY_TREE_BUILD_KEY)
        category = get_category_tree().by_slug.get(slug)
        if category is None:
            raise CategoryNotFound()
    return category


def list_category_ids(*, category: Category) -> list[int]:
    """Return the ids of ``category`` and every category below it (a category's listings include its subcategories').

    Read from the cached tree: a listing query filters on these ids, which its indexes lead with, instead of
    joining the category table on its path.
    """
    ids, todo = [], [get_category_tree().by_id.get(category.pk, category)]
    while todo:
        node = todo.pop()
        ids.append(node.pk)
        todo.extend(getattr(node, "tree_children", ()))
    return sorted(ids)


def list_category_ancestors(*, category: Category) -> list[Category]:
    """Return the breadcrumb from the root down to ``category`` (inclusive)."""
    by_id = get_category_tree().by_id
    ids = [int(x) for x in category.path.strip("/").split("/") if x]
    return [by_id[i] for i in ids if i in by_id]
