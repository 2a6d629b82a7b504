"""Cache invalidation for catalog pages, driven by events (the documents' invalidation table).

| event                                  | keys                                                        |
| product saved / deleted / changed      | product:{id}, page:product:{id}, its choices, inventory,    |
| (or one of its offerings, variations   | similar,                                                    |
|  or options)                           |                                                             |
|                                        | listing generations of its category (and ancestors) and shop|
| product sold or restocked ("stock")    | the above + trending:*, page:home                           |
| shop saved / shop_changed (reviews...) | shop:{id}, shop:{id}:rating, shop listing generation,       |
|                                        | its pages and product:{id} of its listings (cards carry it)  |
| category saved / deleted               | category:tree, page:home, every category listing generation |
| favorite added / removed               | favorites:{user_id}                                         |

A cart hold changes a stock count and a review changes a shop: the cart and orders apps own those senders and
invalidate (cart/receivers.py) or announce shop_changed (orders/receivers.py) themselves, so nothing here
names an app above catalog.

Every receiver invalidates after commit, so a rolled-back write invalidates nothing and
a reader cannot re-cache the old row between the delete and the commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.models import Category, Favorite, Offering, Product, ProductImage, Variation, VariationOption
from catalog.signals import products_changed
from etsy import cache
from shops.models import Shop
from shops.signals import shop_changed


def invalidate_products(
    product_ids: list[int],
    *,
    stock_changed: bool = True,
    known: tuple[int, int, int] | None = None,
    listings: Mapping[int, tuple[int, int]] | None = None,
) -> None:
    """Drop the cached data and pages of these products and bump their listings' generations (one round trip).

    ``known`` is (id, category_id, shop_id) of a row that may be gone already (deletion). ``listings``: each
    product's (category_id, shop_id) as committed, when the sender knows them (it wrote them, or held the rows'
    locks until its commit); otherwise they are read.
    """
    from catalog.selectors import get_category_tree

    if not product_ids:
        return
    if listings is not None and all(pid in listings for pid in product_ids):
        rows = [(pid, *listings[pid]) for pid in product_ids]
    else:
        rows = list(Product.objects.filter(pk__in=product_ids).values_list("pk", "category_id", "shop_id"))
    if known and not rows:
        rows = [known]
    keys = []
    for pid in product_ids:
        keys += [
            cache.product_key(pid),
            cache.product_page_key(pid),
            cache.product_choices_key(pid),
            cache.inventory_key(pid),
            cache.similar_key(pid),
        ]
    by_id = get_category_tree().by_id
    gens = set()
    category_ids: set[int] = set()
    for _, category_id, shop_id in rows:
        gens.add(cache.shop_products_gen_key(shop_id))
        category = by_id.get(category_id)
        path_ids = [int(x) for x in category.path.strip("/").split("/") if x] if category else [category_id]
        category_ids.update(path_ids)
        gens.update(cache.category_gen_key(cid) for cid in path_ids)
    if stock_changed:
        # The documents' "trending:*" for a sold product: the trending lists it can be in are its
        # categories' (and their ancestors') and the catalog-wide one; no keyspace scan.
        keys += [cache.trending_key(cid) for cid in sorted(category_ids)] + [cache.trending_key(None)]
        keys.append(cache.HOME_PAGE_KEY)
    cache.invalidate(keys=keys, generations=sorted(gens))


SHOP_PRODUCT_KEYS_PER_DELETE = 1000


def invalidate_shop(shop_id: int) -> None:
    """Drop what shows the shop: its card, its pages, and its listings' cards (name, rating, open or closed)."""
    cache.delete(cache.shop_key(shop_id), cache.shop_reviews_key(shop_id))
    cache.delete_set_members(cache.shop_pages_key(shop_id))
    cache.bump_generations([cache.shop_products_gen_key(shop_id)])
    product_ids = list(Product.objects.filter(shop_id=shop_id).values_list("pk", flat=True))
    for start in range(0, len(product_ids), SHOP_PRODUCT_KEYS_PER_DELETE):
        cache.delete(*[cache.product_key(pk) for pk in product_ids[start : start + SHOP_PRODUCT_KEYS_PER_DELETE]])


@receiver(post_save, sender=Product, dispatch_uid="catalog_product_saved")
@receiver(post_delete, sender=Product, dispatch_uid="catalog_product_deleted")
def product_written(sender, instance: Product, **kwargs) -> None:
    known = (instance.pk, instance.category_id, instance.shop_id)
    transaction.on_commit(partial(invalidate_products, [instance.pk], known=known))


@receiver(post_save, sender=ProductImage, dispatch_uid="catalog_image_saved")
@receiver(post_delete, sender=ProductImage, dispatch_uid="catalog_image_deleted")
def image_written(sender, instance: ProductImage, **kwargs) -> None:
    transaction.on_commit(partial(invalidate_products, [instance.product_id], stock_changed=False))


@receiver(post_save, sender=Offering, dispatch_uid="catalog_offering_saved")
@receiver(post_delete, sender=Offering, dispatch_uid="catalog_offering_deleted")
@receiver(post_save, sender=Variation, dispatch_uid="catalog_variation_saved")
@receiver(post_delete, sender=Variation, dispatch_uid="catalog_variation_deleted")
def offerings_written(sender, instance: Offering | Variation, **kwargs) -> None:
    # A listing's choices, prices and stock show on its page and cards (bulk writes send products_changed).
    transaction.on_commit(partial(invalidate_products, [instance.product_id]))


@receiver(post_save, sender=VariationOption, dispatch_uid="catalog_variation_option_saved")
@receiver(post_delete, sender=VariationOption, dispatch_uid="catalog_variation_option_deleted")
def variation_option_written(sender, instance: VariationOption, **kwargs) -> None:
    product_id = Variation.objects.filter(pk=instance.variation_id).values_list("product_id", flat=True).first()
    if product_id is not None:
        transaction.on_commit(partial(invalidate_products, [product_id], stock_changed=False))


@receiver(products_changed, dispatch_uid="catalog_products_changed")
def products_changed_elsewhere(sender, product_ids: list[int], reason: str = "", listings=None, **kwargs) -> None:
    # Sent after commit already; invalidating at once is right (on_commit runs it immediately outside a transaction).
    transaction.on_commit(
        partial(
            invalidate_products,
            list(product_ids),
            stock_changed=reason not in ("price", "favorites"),
            listings=listings,
        )
    )


@receiver(post_save, sender=Shop, dispatch_uid="catalog_shop_saved")
def shop_saved(sender, instance: Shop, **kwargs) -> None:
    transaction.on_commit(partial(invalidate_shop, instance.pk))


@receiver(shop_changed, dispatch_uid="catalog_shop_changed")
def shop_changed_elsewhere(sender, shop_id: int, **kwargs) -> None:
    transaction.on_commit(partial(invalidate_shop, shop_id))


def invalidate_categories() -> None:
    """Drop the tree and every category listing: names and places show in navigation, chips and breadcrumbs."""
    cache.delete(cache.CATEGORY_TREE_KEY, cache.CATEGORY_TREE_BUILD_KEY, cache.HOME_PAGE_KEY)
    cache.bump_generations([cache.category_gen_key(pk) for pk in Category.objects.values_list("pk", flat=True)])


@receiver(post_save, sender=Category, dispatch_uid="catalog_category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="catalog_category_deleted")
def category_written(sender, instance: Category, **kwargs) -> None:
    transaction.on_commit(invalidate_categories)


@receiver(post_save, sender=Favorite, dispatch_uid="catalog_favorite_saved")
@receiver(post_delete, sender=Favorite, dispatch_uid="catalog_favorite_deleted")
def favorite_written(sender, instance: Favorite, **kwargs) -> None:
    transaction.on_commit(partial(cache.delete, cache.favorites_key(instance.user_id)))
